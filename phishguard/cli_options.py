"""Command-line options defined once and reused by every command that takes them."""

from __future__ import annotations

import click

from .render import FORMATS

__all__ = ["format_option", "config_option"]


def format_option(default: str = "text"):
    """``--format text|json|jsonl``, defined once and reused by every command that prints verdicts."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default=default,
        show_default=True,
        help="text for people; json (one object, or an array for several); jsonl (one verdict per line).",
    )


def config_option(f):
    return click.option(
        "--config",
        "config",
        type=click.Path(dir_okay=False),
        default=None,
        help="YAML config file (default: $PHISHGUARD_CONFIG, else the embedded defaults).",
    )(f)
