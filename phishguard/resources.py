"""Where the shipped rules and models are, installed or in a checkout.

In a wheel, ``rules/`` and ``models/`` are packaged as ``phishguard/_shipped/{rules,models}``
(hatchling ``force-include``); in a source checkout or editable install they are the top-level
folders of the repository.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["shipped_dir"]


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
