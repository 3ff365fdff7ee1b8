"""Model cards (JSON beside each artifact) and the integrity check every loader runs first.

A card records what a model is and how it was made: library versions, data sources with row counts and
sha256, the training date, metrics, thresholds, and the sha256 of each artifact file. Loaders refuse an
artifact whose sha256 differs from its card (:class:`ModelIntegrityError`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = ["ModelIntegrityError", "sha256_file", "read_card", "write_card", "verified_path"]


class ModelIntegrityError(Exception):
    """A model artifact is missing, altered, or not described by its card; it is not loaded."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_card(path: Path) -> dict[str, Any]:
    """A card as a dict; a missing or unreadable card is an integrity error."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelIntegrityError(f"model card {path}: cannot be read ({exc})") from None


def write_card(path: Path, card: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(card, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def verified_path(card_path: Path, kind: str) -> Path:
    """The artifact of ``kind`` (``npz`` or ``skops``) named by the card, after checking its sha256.

    >>> import tempfile, json
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "m.npz").write_bytes(b"x")
    >>> write_card(d / "m.json", {"artifacts": {"npz": {"file": "m.npz", "sha256": "0" * 64}}})
    >>> verified_path(d / "m.json", "npz")
    Traceback (most recent call last):
    ...
    phishguard.classifier.card.ModelIntegrityError: m.npz: sha256 2d711642b726... does not match its card (000000000000...); refusing to load a file that was altered or replaced
    """
    card = read_card(card_path)
    try:
        entry = card["artifacts"][kind]
        path = Path(card_path).parent / entry["file"]
        expected = entry["sha256"]
    except (KeyError, TypeError):
        raise ModelIntegrityError(f"model card {card_path}: no {kind} artifact with a sha256") from None
    if Path(entry["file"]).name != entry["file"]:
        raise ModelIntegrityError(f"model card {card_path}: artifact name {entry['file']!r} must be a plain file name")
    if not path.is_file():
        raise ModelIntegrityError(f"{path.name}: missing (named by {Path(card_path).name})")
    actual = sha256_file(path)
    if actual != expected:
        raise ModelIntegrityError(
            f"{path.name}: sha256 {actual[:12]}... does not match its card ({str(expected)[:12]}...); "
            "refusing to load a file that was altered or replaced"
        )
    return path
