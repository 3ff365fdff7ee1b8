"""The matcher registry: small declarative matchers, keyed by name, that rules refer to.

A matcher is built once per rule from its parameters (validated with pydantic) and shared
resources (lists, brands), and is then called on a :class:`MessageView` (scope ``text``), a
:class:`LinkView` (scope ``url``), or — for composite rules that combine what other rules found, as
Rspamd's composites do — a :class:`FindingsView` (scope ``message``), or a fetched or saved page,
:class:`PageView` (scope ``page``, matchers in :mod:`phishguard.page.matchers`). It yields :class:`Hit` objects: the evidence (a substring of
the input or of the derived form it names), a strength in [0, 1] that scales the rule's weight,
and variables for the rule's message template.

Adding a matcher: write a params model and a builder, and register both with :func:`matcher`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..page.analyze import PageView

if TYPE_CHECKING:
    from ..extract import UrlSpan
    from ..hosts import HostInfo
    from ..normalize import NormText

__all__ = [
    "Hit",
    "MessageView",
    "LinkView",
    "Resources",
    "DomainList",
    "FindingsView",
    "PageView",
    "MatcherSpec",
    "MATCHERS",
    "GATES",
    "GATE_KEYS",
    "GATE_PLANS",
    "GATE_BATCHES",
    "matcher",
]

Vars = dict[str, "str | dict[str, str]"]


@dataclass(frozen=True, slots=True)
class Hit:
    evidence: str
    strength: float = 1.0
    vars: Vars = field(default_factory=dict)
    brand: str | None = None


@dataclass(slots=True)
class MessageView:
    """What text matchers see: the original text, its normalized form, and scanner signals.

    ``memo`` holds per-message work that several rules share (e.g. the word analysis of ``near``),
    keyed by the matcher module that computed it; it lives and dies with the message.
    """

    text: str
    norm: "NormText"
    signals: dict[str, str] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LinkView:
    """What link matchers see: the extracted span, its host, and its brand if official."""

    span: "UrlSpan"
    official_brand: Any = None  # lookalike.Brand | None

    @property
    def host(self) -> "HostInfo":
        return self.span.host


@dataclass(frozen=True, slots=True)
class FindingsView:
    """What composite rules see: the message, its findings so far, and each link with its findings."""

    msg: MessageView
    findings: tuple[Any, ...]  # verdict.Finding
    links: tuple[tuple[LinkView, tuple[Any, ...]], ...]


class DomainList:
    """A set of domains; a host matches when it is an entry or a subdomain of one.

    >>> d = DomainList("t", {"bit.ly": 1.0, "clck.ru": 0.5})
    >>> d.lookup("go.clck.ru"), d.lookup("bit.ly"), d.lookup("notbit.ly")
    (('clck.ru', 0.5), ('bit.ly', 1.0), None)
    """

    def __init__(self, name: str, entries: Mapping[str, float]):
        self.name = name
        self.entries = {k.strip().lower().rstrip("."): float(v) for k, v in entries.items() if k.strip()}

    def lookup(self, ascii_host: str) -> tuple[str, float] | None:
        labels = ascii_host.split(".")
        for i in range(len(labels)):
            cand = ".".join(labels[i:])
            w = self.entries.get(cand)
            if w is not None:
                return cand, w
        return None

    def __len__(self) -> int:
        return len(self.entries)


@dataclass(slots=True)
class Resources:
    """Shared data the matchers are built with (one set per Scanner)."""

    lists: dict[str, DomainList] = field(default_factory=dict)
    brands: Any = None  # lookalike.BrandRegistry
    lookalike: Any = None  # lookalike.LookalikeEngine
    moderated: Any = field(default_factory=lambda: _moderated())  # moderated.ModeratedLists (service installs)


def _moderated() -> Any:
    from .moderated import ModeratedLists

    return ModeratedLists()


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Scope = Literal["text", "url", "message", "page"]
TextFn = Callable[[MessageView], Iterable[Hit]]
LinkFn = Callable[[LinkView], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class MatcherSpec:
    name: str
    scope: Scope
    params: type[BaseModel]
    build: Callable[[Any, Resources], Callable[[Any], Iterable[Hit]]]
    doc: str


MATCHERS: dict[str, MatcherSpec] = {}

#: Cheap per-message pre-checks shared by a family of text matchers. A matcher function that has
#: ``gate`` (a name in GATES) and ``anchors`` (sets of keys, one per required slot) is skipped unless
#: every anchor meets ``GATES[gate](msg)`` — computed once per message for all such rules. This is
#: the keyword prefilter: most messages never reach most rules. The engine remembers its answer per
#: combination of keys; a matcher function may refine it there with ``prepare(keys)`` (None: no
#: message with these keys can match; else a value the engine passes to ``evidence(msg, prepared)``),
#: see ``engine._plan``.
GATES: dict[str, Callable[[MessageView], frozenset[Any]]] = {}

#: Optional, per gate: a cheaper stand-in for ``GATES[gate](msg)`` as the engine's memo key — any
#: hashable value that is equal for two messages exactly when their ``GATES[gate]`` sets are (``near``:
#: the features as the bits of one int). The engine computes the set itself only on a memo miss.
GATE_KEYS: dict[str, Callable[[MessageView], Any]] = {}

#: Optional, per gate: given the prepared values (``prepare(keys)``) of the rules that one combination
#: of keys lets through, in order, return them (as many, in the same order) possibly replaced — so
#: that per-message work can be limited to what exactly those rules need.
GATE_PLANS: dict[str, Callable[[list[Any]], list[Any]]] = {}

#: Optional, per gate: given the functions and prepared values of rules that run one after another in a
#: plan (after ``GATE_PLANS``), return one function ``batch(msg) -> [evidence or None, …]`` (one per
#: rule, in order) giving what ``fn.evidence(msg, prepared)`` would give for each — so that the work
#: per rule (calls, look-ups of the message's shared analysis) is paid once per message, not per rule.
#: The engine builds it once per combination of keys; if it raises, the rules run one by one instead.
GATE_BATCHES: dict[str, Callable[[list[Any], list[Any]], Callable[[MessageView], list[Any]]]] = {}


def matcher(name: str, scope: Scope, params: type[BaseModel]):
    """Register a matcher builder under ``name``."""

    def deco(build):
        MATCHERS[name] = MatcherSpec(name, scope, params, build, (build.__doc__ or "").strip())
        return build

    return deco


# --------------------------------------------------------------------------- text matchers


class RegexParams(_Params):
    pattern: str = Field(description="Python regex over the normalized text (lowercase, folded, ё→е).")
    max_hits: int = Field(3, ge=1, le=50)


@matcher("regex", "text", RegexParams)
def _build_regex(p: RegexParams, res: Resources) -> TextFn:
    """A regular expression over the normalized text; evidence is the original span."""
    rx = re.compile(p.pattern)

    def run(msg: MessageView) -> Iterator[Hit]:
        for i, m in enumerate(rx.finditer(msg.norm.text)):
            if i >= p.max_hits:
                break
            yield Hit(evidence=msg.norm.original_slice(m.start(), m.end()))

    return run


class SignalParams(_Params):
    name: str = Field(description="A signal raised while scanning (text_truncated, too_many_urls, rule_failed; "
                      "pages: truncated, fetch_refused, fetch_failed).")


@matcher("signal", "text", SignalParams)
def build_signal(p: SignalParams, res: Resources) -> Callable[[Any], Iterable[Hit]]:
    """Fires when the scanner raised the named signal (limits hit, parts degraded). Works on any view
    with ``signals`` (the page scope registers it too, as ``page_signal``)."""

    def run(view: Any) -> Iterator[Hit]:
        value = view.signals.get(p.name)
        if value is not None:
            value = value[:300]
            yield Hit(evidence=value, vars={"detail": value, "url": getattr(view, "url", "")})

    return run


# --------------------------------------------------------------------------- link matchers


class NoParams(_Params):
    pass


@matcher("userinfo", "url", NoParams)
def _build_userinfo(p: NoParams, res: Resources) -> LinkFn:
    """The link has a user part (``https://avito.ru@evil.xyz``): what stands before ``@`` is not the site."""

    def run(link: LinkView) -> Iterator[Hit]:
        ui = link.span.userinfo
        if ui is not None:
            ev = ui + "@" if (ui + "@") in link.span.raw else link.span.raw
            yield Hit(evidence=ev, vars={"fake": ui, "host": link.host.unicode})

    return run


class IpParams(_Params):
    forms: list[str] = Field(description="ip_form values to match: dotted, short, decimal, hex, octal, mixed, ipv6.")


@matcher("ip_host", "url", IpParams)
def _build_ip(p: IpParams, res: Resources) -> LinkFn:
    """The host is an IP address written in one of the given forms."""
    forms = frozenset(p.forms)

    def run(link: LinkView) -> Iterator[Hit]:
        h = link.host
        if h.ip is not None and h.ip_form in forms:
            yield Hit(evidence=h.raw if h.raw in link.span.raw else link.span.raw, vars={"ip": str(h.ip)})

    return run


class IdnParams(_Params):
    mixed_script: bool | None = Field(
        None, description="true: only hosts mixing scripts in one label; false: only single-script IDNs; null: any IDN."
    )


def _label_scripts(label: str) -> set[str]:
    import unicodedata

    out = set()
    for ch in label:
        if ch.isalpha():
            try:
                out.add(unicodedata.name(ch).split(" ", 1)[0])
            except ValueError:
                out.add("UNKNOWN")
    return out


@matcher("idn_host", "url", IdnParams)
def _build_idn(p: IdnParams, res: Resources) -> LinkFn:
    """The host is internationalized (punycode ``xn--`` or non-ASCII letters), optionally mixing scripts."""

    def run(link: LinkView) -> Iterator[Hit]:
        h = link.host
        if not h.is_idn or h.ip is not None:
            return
        mixed = [lab for lab in h.unicode.split(".") if len(_label_scripts(lab)) > 1]
        if p.mixed_script is True and not mixed:
            return
        if p.mixed_script is False and mixed:
            return
        yield Hit(
            evidence=h.unicode,
            vars={"host": h.unicode, "ascii": h.ascii, "label": mixed[0] if mixed else h.unicode},
        )

    return run


class ObfuscationParams(_Params):
    kinds: list[str] = Field(
        description="HostInfo.obfuscation values: zero_width, bidi, fullwidth, ideographic_dot, percent_encoded, ..."
    )


_OBF_NAMES = {
    "zero_width": {"ru": "невидимые символы", "en": "invisible characters"},
    "bidi": {"ru": "символы смены направления текста", "en": "text-direction control characters"},
    "fullwidth": {"ru": "широкие (полноширинные) буквы", "en": "full-width letters"},
    "ideographic_dot": {"ru": "нестандартные точки", "en": "non-standard dots"},
    "percent_encoded": {"ru": "%-кодирование", "en": "percent-encoding"},
}


@matcher("host_obfuscation", "url", ObfuscationParams)
def _build_obfuscation(p: ObfuscationParams, res: Resources) -> LinkFn:
    """The host was written with characters that hide its real name (removed before IDNA)."""
    kinds = frozenset(p.kinds)

    def run(link: LinkView) -> Iterator[Hit]:
        found = [k for k in link.host.obfuscation if k in kinds]
        if found:
            what = {
                lang: ", ".join(_OBF_NAMES.get(k, {"ru": k, "en": k})[lang] for k in found) for lang in ("ru", "en")
            }
            yield Hit(evidence=link.host.raw, vars={"what": what, "host": link.host.unicode})

    return run


@matcher("defanged", "url", NoParams)
def _build_defanged(p: NoParams, res: Resources) -> LinkFn:
    """The link was written in a broken-up form (``hxxp``, ``[.]``, ``(dot)``) that filters do not see."""

    def run(link: LinkView) -> Iterator[Hit]:
        if link.span.defanged:
            yield Hit(evidence=link.span.raw, vars={"host": link.host.unicode})

    return run


class ListParams(_Params):
    list: str = Field(description="Name of a domain list (rules/lists/*.yaml, or allow/deny from settings).")


def _named_list(res: Resources, name: str) -> DomainList:
    if name not in res.lists:
        raise ValueError(f"unknown list {name!r} (known: {', '.join(sorted(res.lists)) or 'none'})")
    return res.lists[name]


@matcher("in_list", "url", ListParams)
def _build_in_list(p: ListParams, res: Resources) -> LinkFn:
    """The host is on a domain list, or a subdomain of an entry; the entry's weight is the strength."""
    dl = _named_list(res, p.list)

    def run(link: LinkView) -> Iterator[Hit]:
        if link.host.ip is not None:
            return
        found = dl.lookup(link.host.ascii)
        if found:
            entry, w = found
            yield Hit(evidence=link.host.unicode, strength=w, vars={"entry": entry, "host": link.host.unicode})

    return run


@matcher("tld_in", "url", ListParams)
def _build_tld_in(p: ListParams, res: Resources) -> LinkFn:
    """The host's top-level domain is on a list (e.g. TLDs cheap and common in phishing), weighted."""
    dl = _named_list(res, p.list)

    def run(link: LinkView) -> Iterator[Hit]:
        h = link.host
        if h.ip is not None or link.official_brand is not None:
            return
        tld = h.ascii.rsplit(".", 1)[-1]
        w = dl.entries.get(tld)
        if w is not None:
            uni_tld = h.unicode.rsplit(".", 1)[-1]
            yield Hit(evidence=h.unicode, strength=w, vars={"tld": uni_tld, "host": h.unicode})

    return run


def params_help() -> dict[str, dict[str, Any]]:
    """Every matcher with its scope, doc and parameter schema (for docs and ``rules matchers``)."""
    return {
        name: {"scope": s.scope, "doc": s.doc, "params": s.params.model_json_schema().get("properties", {})}
        for name, s in sorted(MATCHERS.items())
    }


class LookalikeMatchParams(_Params):
    kinds: list[str] = Field(
        description="LookalikeHit kinds: homoglyph, idn_brand, typosquat, combosquat, brand_in_subdomain, "
        "tld_swap, brand_in_path."
    )


@matcher("lookalike", "url", LookalikeMatchParams)
def _build_lookalike(p: LookalikeMatchParams, res: Resources) -> LinkFn:
    """The host imitates a registry brand in one of the given ways (rules/brands.yaml); never on official domains."""
    if res.lookalike is None:
        raise ValueError("the lookalike engine is not loaded (rules/brands.yaml is missing from the rules folder)")
    from ..lookalike import KINDS

    unknown = sorted(set(p.kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown lookalike kinds {unknown} (known: {', '.join(KINDS)})")
    kinds = frozenset(p.kinds)
    engine = res.lookalike

    def run(link: LinkView) -> Iterator[Hit]:
        if link.official_brand is not None or link.host.ip is not None:
            return
        for hit in engine.check(link.host, link.span.path):
            if hit.kind in kinds:
                d = hit.detail
                yield Hit(
                    evidence=hit.evidence,
                    strength=hit.strength,
                    vars={
                        "brand": hit.brand.name,
                        "official": d.get("official") or hit.brand.official_for(link.host.suffix),
                        "detail": {"ru": d.get("ru", ""), "en": d.get("en", "")},
                        "host": link.host.unicode,
                    },
                    brand=hit.brand.id,
                )

    return run


class CompositeParams(_Params):
    any_category: list[str] = Field(default_factory=list, description="Fires only if a finding of one of these categories exists.")
    any_rule: list[str] = Field(default_factory=list, description="... or a finding of one of these rules.")
    link: Literal["any", "unofficial", "none"] = Field(
        "any", description="and the message has a link that is not a brand's official (nor allow-listed) domain, or no link."
    )


@matcher("composite", "message", CompositeParams)
def _build_composite(p: CompositeParams, res: Resources) -> Callable[[FindingsView], Iterable[Hit]]:
    """Fires when other rules found something (by category or rule id) together with a kind of link."""
    if not p.any_category and not p.any_rule:
        raise ValueError("a composite needs any_category or any_rule")
    cats, rules = frozenset(p.any_category), frozenset(p.any_rule)
    allow = frozenset(r for r in ("reputation.allowlisted",))

    def run(view: FindingsView) -> Iterator[Hit]:
        trig = [f for f in view.findings if f.category in cats or f.rule in rules]
        if not trig:
            return
        names = ", ".join(dict.fromkeys(f.rule for f in trig))
        if p.link == "none":
            if not view.links:
                yield Hit(evidence=trig[0].evidence, vars={"rules": names})
            return
        for link, found in view.links:
            if p.link == "unofficial" and (
                link.official_brand is not None or any(f.rule in allow for f in found)
            ):
                continue
            yield Hit(evidence=link.host.unicode, vars={"rules": names, "host": link.host.unicode})
            return

    return run
