"""The HTTP service (SPEC §3): an aiohttp app around the one :class:`~phishguard.scanner.Scanner`.

Modules, one concern each: ``config`` (settings), ``keys`` (API keys), ``errors`` (the one error
middleware), ``limits`` (in-flight cap, per-key rate), ``schemas`` (request/response models),
``openapi``, ``metrics``, ``accesslog``, ``handlers``, ``app`` (``create_app``), ``runner``
(``phishguard serve``: workers, signals) and ``commands`` (the click commands).

Importing this package stays cheap: aiohttp is imported by ``create_app``'s module only.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)
