"""Where the shipped rules and models are, installed or in a checkout.

In a wheel, ``rules/`` and ``models/`` are packaged as ``phishguard/_shipped/{rules,models}``
(hatchling ``force-include``); in a source checkout or editable install they are the top-level
folders of the repository.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["gc_paused", "gc_seconds", "loading", "loading_seconds", "one_blas_thread", "shipped_dir"]

#: The variables OpenBLAS (numpy's BLAS) reads for its thread count, in its order of precedence.
_BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")

_LOADING = [0.0]  # CPU seconds spent in one-time loads so far, process-wide


@contextmanager
def loading() -> Iterator[None]:
    """Time a one-time load (a model, the public suffix list): a scan's time budget
    (``limits.scan_budget_ms``, CPU time of the scanning thread) does not count it, since it is no
    message's cost. Measured in the same clock (this thread's CPU time): wall time would also take away
    the load's waits for the disk, which the budget never counted."""
    t0 = time.thread_time()
    try:
        yield
    finally:
        _LOADING[0] += time.thread_time() - t0


_GC = threading.local()  # per thread: CPU seconds its garbage collections took, and when the current one began


def _gc_clock(phase: str, _info: dict[str, int]) -> None:
    now = time.thread_time()
    if phase == "start":
        _GC.began = now
    else:
        _GC.total = getattr(_GC, "total", 0.0) + now - getattr(_GC, "began", now)


gc.callbacks.append(_gc_clock)  # two clock reads per collection


def gc_seconds() -> float:
    """CPU seconds this thread has spent in garbage collections. A collection is the heap's cost, not
    the message's that happened to allocate past a threshold: a scan's time budget does not count it (a
    full collection of a worker holding a dozen 1,000-message batches takes tens of milliseconds)."""
    return getattr(_GC, "total", 0.0)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while loading what lives as long as the process (modules,
    settings, rules, brands): hundreds of thousands of objects and next to no garbage, that start-up would
    otherwise walk in ~200 collections (~30 ms of CPU in ``serve``'s start). The collector is restored as
    it was afterwards (``serve`` also freezes what it loaded: ``service.runner._freeze_heap``)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def one_blas_thread() -> None:
    """Ask numpy's OpenBLAS for one thread, for the commands that scan (``scan``, ``page``, ``serve``).

    The scanner's only BLAS calls are products of one message's few hundred tf-idf values, far below what
    OpenBLAS splits across threads, and ``serve`` runs one process per core; but OpenBLAS starts a thread
    per CPU when numpy is imported (~60 ms of CPU and contention for a one-message ``phishguard scan`` on
    2 cores). Does nothing once numpy is imported, or when the user chose a thread count."""
    if "numpy" not in sys.modules and not any(os.environ.get(v) for v in _BLAS_THREAD_VARS):
        os.environ["OPENBLAS_NUM_THREADS"] = "1"


def loading_seconds() -> float:
    """CPU seconds this process has spent in :func:`loading` blocks."""
    return _LOADING[0]


def shipped_dir(name: str) -> Path:
    """Path of the shipped ``rules`` or ``models`` folder.

    >>> shipped_dir("rules").name
    'rules'
    """
    if name not in ("rules", "models"):
        raise ValueError(name)
    packaged = Path(__file__).resolve().parent / "_shipped" / name  # the installed package's folder
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"the shipped {name}/ folder is missing from this installation")
