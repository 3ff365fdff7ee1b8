"""Finding and Verdict value objects, and how findings combine into a score and a verdict.

Detection and weighting are separate concerns (as in Rspamd): rules emit findings with a weight;
this module turns them into one score with per-category caps, yields (a rule that sees the same
evidence as other categories adds only what it says beyond them), rule floors and the configured
thresholds.

>>> f = Finding(rule="url.userinfo", category="url_structure", severity="high", weight=0.6,
...             evidence="avito.ru@", message={"en": "e", "ru": "r"})
>>> combine([f], Policy()).verdict
'suspicious'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

__all__ = [
    "CATEGORIES",
    "SEVERITIES",
    "VERDICTS",
    "Finding",
    "UrlReport",
    "Verdict",
    "Policy",
    "Combined",
    "combine",
]

VerdictName = Literal["safe", "suspicious", "fraud"]
VERDICTS: tuple[str, ...] = ("safe", "suspicious", "fraud")
SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
CATEGORIES: tuple[str, ...] = (
    "lookalike_domain",
    "card_request",
    "payment_page",
    "scam_script",
    "off_platform",
    "url_structure",
    "text_model",
    "spam",
    "reputation",
    "degraded",
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason in a verdict (SPEC §1 ``reasons[]``).

    ``evidence`` is a substring of the input or of the derived form it names (the decoded host);
    ``message`` carries both languages.
    """

    rule: str
    category: str
    severity: str
    weight: float
    evidence: str
    message: dict[str, str]
    floor: str | None = None
    brand: str | None = None  # the brand a lookalike finding names (internal; shown in urls[].brand)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "category": self.category,
            "severity": self.severity,
            "weight": round(self.weight, 4),
            "evidence": self.evidence,
            "message": {"en": self.message["en"], "ru": self.message["ru"]},
        }


@dataclass(frozen=True, slots=True)
class UrlReport:
    """One link found in the message (SPEC §1 ``urls[]``)."""

    url: str
    display: str
    host: str
    registered_domain: str
    brand: str | None
    official: bool | None
    findings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "display": self.display,
            "host": self.host,
            "registered_domain": self.registered_domain,
            "brand": self.brand,
            "official": self.official,
            "findings": list(self.findings),
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer for one message (SPEC §1). ``to_dict()`` gives the JSON shape."""

    verdict: VerdictName
    score: float
    summary: str
    reasons: tuple[Finding, ...]
    urls: tuple[UrlReport, ...]
    rules_version: str
    lang: str = "en"
    id: str | None = None
    context: dict[str, Any] | None = None
    models: dict[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0

    @property
    def flagged(self) -> bool:
        return self.verdict != "safe"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.id is not None:
            out["id"] = self.id
        out["verdict"] = self.verdict
        out["score"] = round(self.score, 4)
        out["summary"] = self.summary
        out["reasons"] = [r.to_dict() for r in self.reasons]
        out["urls"] = [u.to_dict() for u in self.urls]
        out["models"] = dict(self.models)
        out["rules_version"] = self.rules_version
        if self.context is not None:
            out["context"] = self.context
        out["elapsed_ms"] = round(self.elapsed_ms, 3)
        return out


@dataclass(frozen=True, slots=True)
class Policy:
    """How findings become a verdict; built from settings (all numbers are configuration).

    ``category_caps`` bounds what one category can add (a hundred weak URL-structure hints are
    still weak). ``never_fraud`` lists categories that never lift a message to ``fraud``: alone or
    with weaker hints they make it at most suspicious (SPEC: ``spam`` — a job ad is not a payment
    scam). ``yields`` maps a rule id to the categories it yields to (the rule's ``yields_to``): see
    :func:`combine`.
    """

    suspicious: float = 0.4
    fraud: float = 0.75
    category_caps: dict[str, float] = field(default_factory=dict)
    never_fraud: frozenset[str] = frozenset({"spam"})
    yields: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def threshold(self, verdict: str) -> float:
        return {"safe": 0.0, "suspicious": self.suspicious, "fraud": self.fraud}[verdict]

    def verdict_for(self, score: float) -> VerdictName:
        if score >= self.fraud:
            return "fraud"
        if score >= self.suspicious:
            return "suspicious"
        return "safe"


@dataclass(frozen=True, slots=True)
class Combined:
    score: float
    verdict: VerdictName


_SAFE = Combined(score=0.0, verdict="safe")


def _noisy_or(weights: list[float]) -> float:
    miss = 1.0
    for w in weights:
        miss *= 1.0 - min(max(w, 0.0), 1.0)
    return 1.0 - miss


def _yielded(weight: float, absorbed: float) -> float:
    """What a finding of ``weight`` adds beyond evidence already worth ``absorbed``: the weight that,
    noisy-ORed with ``absorbed``, gives ``max(weight, absorbed)``.

    >>> _yielded(0.6, 0.68), round(_yielded(0.6, 0.2), 4), _yielded(0.6, 0.0)
    (0.0, 0.5, 0.6)
    """
    if weight <= absorbed:
        return 0.0
    return (weight - absorbed) / (1.0 - absorbed)


def _category_parts(findings: list[Finding] | tuple[Finding, ...], policy: Policy) -> dict[str, float]:
    """Each category's contribution: noisy-OR of its findings' weights, capped."""
    by_cat: dict[str, list[float]] = {}
    for f in findings:
        by_cat.setdefault(f.category, []).append(f.weight)
    return {cat: min(_noisy_or(ws), policy.category_caps.get(cat, 1.0)) for cat, ws in by_cat.items()}


def _apply_yields(findings: list[Finding] | tuple[Finding, ...], policy: Policy) -> list[Finding]:
    """The findings as they count towards the score: a finding whose rule yields to categories that
    other findings of the message hold keeps only the weight it adds beyond theirs (``_yielded``
    against the noisy-OR of those categories' capped contributions). Floors are kept."""
    present = {f.category for f in findings}
    base: list[Finding] = []
    yielding: list[tuple[Finding, frozenset[str]]] = []
    for f in findings:
        to = policy.yields.get(f.rule)
        if to and not to.isdisjoint(present - {f.category}):
            yielding.append((f, to))
        else:
            base.append(f)
    if not yielding:
        return base
    parts = _category_parts(base, policy)
    for f, to in yielding:
        absorbed = _noisy_or([p for cat, p in parts.items() if cat in to])
        base.append(replace(f, weight=_yielded(f.weight, absorbed)))
    return base


def combine(findings: list[Finding] | tuple[Finding, ...], policy: Policy) -> Combined:
    """Combine findings: yields first, noisy-OR inside a category, capped, then noisy-OR across categories.

    A finding that yields (its rule's ``yields_to`` names a category another finding holds) counts
    only for what it adds beyond those categories: the text model scoring a card request adds nothing
    to the card rule that already counts the same words, and the difference when it is the more
    confident. ``never_fraud`` categories (spam) can make a message suspicious, never fraud. Floors
    raise the score to the floor's threshold, so score and verdict always agree.

    >>> p = Policy(category_caps={"url_structure": 0.5})
    >>> def f(cat, w, floor=None, rule="x.y"):
    ...     return Finding(rule, cat, "low", w, "", {"en": "", "ru": ""}, floor=floor)
    >>> combine([f("url_structure", 0.4), f("url_structure", 0.4)], p).score
    0.5
    >>> combine([f("card_request", 0.3, floor="suspicious")], p).verdict
    'suspicious'
    >>> combine([], p).verdict
    'safe'
    >>> y = Policy(yields={"model.text": frozenset({"card_request"})})
    >>> combine([f("card_request", 0.68), f("text_model", 0.6, rule="model.text")], y).score
    0.68
    """
    if not findings:
        return _SAFE
    counted = _apply_yields(findings, policy) if policy.yields else findings
    parts = _category_parts(counted, policy)
    score = _noisy_or(list(parts.values()))

    # Categories that never convict: unless the others reach `fraud` without them, the score stays under it.
    if (
        score >= policy.fraud
        and not policy.never_fraud.isdisjoint(parts)
        and _noisy_or([p for cat, p in parts.items() if cat not in policy.never_fraud]) < policy.fraud
    ):
        score = policy.fraud - 1e-6

    floor_rank = max((VERDICTS.index(f.floor) for f in findings if f.floor), default=0)
    floor_score = policy.threshold(VERDICTS[floor_rank])
    score = max(score, floor_score)
    score = min(max(score, 0.0), 1.0)
    return Combined(score=score, verdict=policy.verdict_for(score))
