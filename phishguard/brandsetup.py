"""Build the brand registry and lookalike engine from rules/brands.yaml plus settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .settings import Settings


def load_brands(root: Path, settings: Settings) -> tuple[Any, Any]:
    # Filled in when the lookalike engine lands (#3).
    return None, None
