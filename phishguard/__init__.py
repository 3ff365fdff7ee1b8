"""phishguard: fraud-link detector for marketplace chat messages.

The flow is one way: extract -> normalize -> match (rules + models) -> combine -> verdict.
Every front end (CLI, HTTP service, moderation) calls the same :class:`~phishguard.scanner.Scanner`.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "Scanner", "Verdict", "Finding"]


def __getattr__(name: str):  # lazy: `import phishguard` stays cheap for the CLI's --version
    if name == "Scanner":
        from .scanner import Scanner

        return Scanner
    if name in ("Verdict", "Finding"):
        from . import verdict

        return getattr(verdict, name)
    raise AttributeError(name)
