from .resources import gc_paused

with gc_paused():  # the CLI's imports only add objects that live as long as the process
    from .cli import entry

entry()
