"""Where the shipped rules and models are, installed or in a checkout.

In a wheel, ``rules/`` and ``models/`` are packaged as ``phishguard/_shipped/{rules,models}``
(hatchling ``force-include``); in a source checkout or editable install they are the top-level
folders of the repository.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

__all__ = ["loading", "loading_seconds", "shipped_dir"]

_LOADING = [0.0]  # seconds spent in one-time loads so far, process-wide


@contextmanager
def loading() -> Iterator[None]:
    """Time a one-time load (a model, the public suffix list): a scan's time budget
    (``limits.scan_budget_ms``) does not count it, since it is no message's cost."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        _LOADING[0] += time.perf_counter() - t0


def loading_seconds() -> float:
    """Seconds this process has spent in :func:`loading` blocks."""
    return _LOADING[0]


def shipped_dir(name: str) -> Path:
    """Path of the shipped ``rules`` or ``models`` folder.

    >>> shipped_dir("rules").name
    'rules'
    """
    if name not in ("rules", "models"):
        raise ValueError(name)
    packaged = Path(str(resources.files("phishguard"))) / "_shipped" / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"the shipped {name}/ folder is missing from this installation")
