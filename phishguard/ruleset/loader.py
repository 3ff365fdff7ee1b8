"""Load and validate the rules folder, collecting *all* errors with ``file:line`` before stopping.

Layout of a rules folder::

    rules/*.yaml          rule documents (one or more per file, separated by ``---``)
    rules/brands.yaml     the brand registry (not rules; read by the lookalike engine)
    rules/lists/*.yaml    named domain lists: {name, description, entries: [..] or {domain: weight}}
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .matchers import MATCHERS, DomainList, Hit, Resources
from .schema import RuleDoc

__all__ = ["RuleLoadError", "CompiledRule", "RuleSet", "load_ruleset", "DATA_FILES"]

DATA_FILES = frozenset({"brands.yaml"})

# libyaml's loader is ~10x faster and keeps node marks (line numbers); PyYAML wheels ship it.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RuleLoadError(Exception):
    """Rules could not be loaded; ``errors`` holds one ``file:line: rule id: field: problem`` per error."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        more = f" (+{len(errors) - 1} more; run 'phishguard rules check')" if len(errors) > 1 else ""
        super().__init__(errors[0] + more)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    doc: RuleDoc
    scope: str
    fn: Callable[[Any], Iterable[Hit]]
    weight: float
    floor: str | None
    source: str

    @property
    def id(self) -> str:
        return self.doc.id


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[CompiledRule, ...]
    resources: Resources
    version: str
    root: Path
    text_rules: tuple[CompiledRule, ...] = field(init=False)
    signal_rules: tuple[CompiledRule, ...] = field(init=False)
    link_rules: tuple[CompiledRule, ...] = field(init=False)
    message_rules: tuple[CompiledRule, ...] = field(init=False)
    page_rules: tuple[CompiledRule, ...] = field(init=False)
    text_gates: tuple[tuple[CompiledRule, str | None, tuple[frozenset, ...]], ...] = field(init=False)
    suppressors: frozenset[str] = field(init=False)
    yields: dict[str, frozenset[str]] = field(init=False)  # rule id -> its yields_to (the verdict Policy's)

    def __post_init__(self) -> None:
        # Derived once: the scan path reads these for every message.
        text = [r for r in self.rules if r.scope == "text"]
        # Signal rules only matter when the scanner raised a signal (a limit hit): run them only then.
        object.__setattr__(self, "text_rules", tuple(r for r in text if r.doc.matcher_name != "signal"))
        object.__setattr__(self, "signal_rules", tuple(r for r in text if r.doc.matcher_name == "signal"))
        object.__setattr__(self, "link_rules", tuple(r for r in self.rules if r.scope == "url"))
        object.__setattr__(
            self,
            "text_gates",
            tuple((r, getattr(r.fn, "gate", None), tuple(getattr(r.fn, "anchors", ()))) for r in self.text_rules),
        )
        object.__setattr__(self, "message_rules", tuple(r for r in self.rules if r.scope == "message"))
        object.__setattr__(self, "page_rules", tuple(r for r in self.rules if r.scope == "page"))
        object.__setattr__(self, "suppressors", frozenset(r.id for r in self.rules if r.doc.suppresses_links))
        object.__setattr__(self, "yields", {r.id: frozenset(r.doc.yields_to) for r in self.rules if r.doc.yields_to})

    def get(self, rule_id: str) -> CompiledRule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


# --------------------------------------------------------------------------- YAML with line numbers


def _documents(path: Path, text: str) -> Iterable[tuple[yaml.Node, Any]]:
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            yield node, loader.construct_document(node)
    finally:
        loader.dispose()


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """Line (1-based) of the deepest node along a pydantic error location."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- lists


def _load_lists(root: Path, errors: list[str]) -> dict[str, DomainList]:
    lists: dict[str, DomainList] = {}
    for path in sorted((root / "lists").glob("*.yaml")):
        where = _rel(path, root)
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a safe loader
        except (OSError, yaml.YAMLError) as exc:
            errors.append(f"{where}: cannot load list: {exc}")
            continue
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            errors.append(f"{where}:1: a list needs a 'name' and 'entries'")
            continue
        entries = data.get("entries") or {}
        if isinstance(entries, list):
            entries = {str(e): 1.0 for e in entries}
        if not isinstance(entries, dict) or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in entries.values()):
            errors.append(f"{where}: list {data['name']}: entries must be a list or a mapping to weights in [0, 1]")
            continue
        lists[data["name"]] = DomainList(data["name"], entries)
    return lists


def version_of(root: Path) -> str:
    """Content hash of every YAML file under ``root`` (stable across machines)."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.yaml")):
        h.update(str(path.relative_to(root)).encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return "r-" + h.hexdigest()[:12]


# --------------------------------------------------------------------------- rules


def load_ruleset(
    root: Path,
    *,
    overrides: Mapping[str, Any] | None = None,
    extra_lists: Mapping[str, Mapping[str, float]] | None = None,
    brands: Any = None,
    lookalike: Any = None,
) -> RuleSet:
    """Load every rule under ``root``; raise :class:`RuleLoadError` listing all problems."""
    from ..page import matchers as _page_matchers  # noqa: F401  (registers the page-scope matchers)

    root = Path(root)
    errors: list[str] = []
    if not root.is_dir():
        raise RuleLoadError([f"{root}: rules folder not found"])
    lists = _load_lists(root, errors)
    for name, entries in (extra_lists or {}).items():  # settings' entries join the shipped list
        base = lists[name].entries if name in lists else {}
        lists[name] = DomainList(name, {**base, **entries})
    res = Resources(lists=lists, brands=brands, lookalike=lookalike)

    overrides = dict(overrides or {})
    compiled: list[CompiledRule] = []
    seen: dict[str, str] = {}
    for path in sorted(root.glob("*.yaml")):
        if path.name in DATA_FILES:
            continue
        where = _rel(path, root)
        try:
            docs = list(_documents(path, path.read_text(encoding="utf-8")))
        except OSError as exc:
            errors.append(f"{where}: cannot read: {exc.strerror or exc}")
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            errors.append(f"{where}:{mark.line + 1 if mark else 1}: invalid YAML: {getattr(exc, 'problem', exc)}")
            continue
        for node, data in docs:
            rule = _compile_one(data, node, where, res, overrides, errors)
            if rule is None:
                continue
            if rule.id in seen:
                errors.append(f"{rule.source}: rule {rule.id}: duplicate id (first at {seen[rule.id]})")
                continue
            seen[rule.id] = rule.source
            compiled.append(rule)
    for rid in overrides:
        if rid not in seen:
            errors.append(f"settings: rule_overrides.{rid}: no such rule")
    if errors:
        raise RuleLoadError(errors)
    return RuleSet(rules=tuple(r for r in compiled if r.doc.enabled), resources=res, version=version_of(root), root=root)


def _compile_one(
    data: Any, node: yaml.Node, where: str, res: Resources, overrides: Mapping[str, Any], errors: list[str]
) -> CompiledRule | None:
    line = node.start_mark.line + 1
    if not isinstance(data, dict):
        errors.append(f"{where}:{line}: a rule must be a mapping")
        return None
    rid = data.get("id", "?")
    try:
        doc = RuleDoc.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "(rule)"
            errors.append(f"{where}:{_line_of(node, err['loc'])}: rule {rid}: field '{field}': {err['msg']}")
        return None
    spec = MATCHERS.get(doc.matcher_name)
    mline = _line_of(node, ("match",))  # the matcher's own line
    if spec is None:
        known = ", ".join(sorted(MATCHERS))
        errors.append(f"{where}:{mline}: rule {rid}: field 'match': unknown matcher {doc.matcher_name!r} (known: {known})")
        return None
    try:
        params = spec.params.model_validate(doc.matcher_params)
        fn = spec.build(params, res)
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(["match", doc.matcher_name, *map(str, err["loc"])])
            errors.append(f"{where}:{mline}: rule {rid}: field '{field}': {err['msg']}")
        return None
    except Exception as exc:  # a bad regex, an unknown list: the rule author's mistake, reported with its place
        errors.append(f"{where}:{mline}: rule {rid}: field 'match.{doc.matcher_name}': {exc}")
        return None
    ov = overrides.get(doc.id)
    weight, floor = doc.weight, doc.floor
    enabled = doc.enabled
    if ov is not None:
        get = ov.get if isinstance(ov, Mapping) else (lambda k, _ov=ov: getattr(_ov, k))
        weight = get("weight") if get("weight") is not None else weight
        if get("floor") is not None:
            floor = None if get("floor") == "none" else get("floor")
        enabled = get("enabled") if get("enabled") is not None else enabled
    if enabled != doc.enabled:
        doc = doc.model_copy(update={"enabled": enabled})
    return CompiledRule(doc=doc, scope=spec.scope, fn=fn, weight=weight, floor=floor, source=f"{where}:{line}")
