"""Load what a Scanner needs from the rules folder and the settings: brands, lookalike engine, rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .hosts import parse_host
from .resources import shipped_dir
from .ruleset.loader import RuleLoadError, RuleSet, load_ruleset
from .settings import Settings

__all__ = ["load_brands", "load_rules"]


def load_brands(root: Path, settings: Settings) -> tuple[Any, Any]:
    """(registry, engine), or (None, None) for a rules folder without ``brands.yaml``.

    A marketplace adds its own brands or official domains with the ``brands_extra`` setting.
    Problems are raised as :class:`RuleLoadError` naming the file and the brand.
    """
    from .lookalike import BrandRegistry, LookalikeEngine, RegistryError

    path = Path(root) / "brands.yaml"
    if not path.is_file():
        if settings.brands_extra:
            raise RuleLoadError([f"{path}: brands_extra is set but the rules folder has no brands.yaml"])
        return None, None
    try:
        registry = BrandRegistry.from_yaml(path)
    except RegistryError as exc:
        raise RuleLoadError([f"{path.parent.name}/{path.name}: {e}" for e in exc.errors]) from None
    if settings.brands_extra:
        try:
            registry = registry.merged(settings.brands_extra)
        except RegistryError as exc:
            raise RuleLoadError([f"settings: brands_extra: {e}" for e in exc.errors]) from None
    return registry, LookalikeEngine(registry)


def load_rules(settings: Settings) -> RuleSet:
    """The configured rules folder (or the shipped one), with the settings' lists, overrides and brands."""
    root = Path(settings.rules_dir) if settings.rules_dir else shipped_dir("rules")
    brands, engine = load_brands(root, settings)
    extra = {
        "deny": {_host_key(d): 1.0 for d in settings.deny_domains},
        "allow": {_host_key(d): 1.0 for d in settings.allow_domains},
    }
    return load_ruleset(
        root,
        overrides=dict(settings.rule_overrides),
        extra_lists=extra,
        brands=brands,
        lookalike=engine,
    )


def _host_key(domain: str) -> str:
    """A configured domain in the ASCII form lists are keyed by (``авито.рф`` -> punycode)."""
    h = parse_host(domain.strip())
    return h.ascii if h is not None else domain.strip().lower().rstrip(".")
