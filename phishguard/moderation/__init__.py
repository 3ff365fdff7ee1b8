"""Moderation: flags recorded by the service, moderators' decisions and what they change.

* ``store``: the SQLite / PostgreSQL store (one interface, the same schema and tests);
* ``runtime``: what one service worker runs (flag writer, decision poller, decisions with effects);
* ``lists``: the moderators' deny/allow lists as the scanner applies them;
* ``api`` / ``web``: the review API and the ``/moderation`` pages;
* ``webhooks``: Standard Webhooks signing and delivery through the SSRF-safe client.
"""
