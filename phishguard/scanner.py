"""The Scanner: load rules (and models) once, then scan messages — the one path every front end uses.

>>> s = Scanner()
>>> s.scan("Здравствуйте, камера ещё продаётся?").verdict
'safe'
>>> v = s.scan("Получите оплату: https://аvito.ru/pay/123", lang="ru")
>>> v.verdict in ("suspicious", "fraud"), v.urls[0].host
(True, 'xn--vito-43d.ru')
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .extract import UrlSpan, extract_urls
from .loading import load_rules
from .normalize import NormText, normalize_text
from .ruleset import LinkView, MessageView, RuleSet
from .ruleset.engine import findings_for, run_link_rules, run_message_rules, run_text_rules
from .ruleset.matchers import FindingsView, Hit
from .ruleset.model_matchers import DEADLINE, Deadline, score_batch
from .settings import Settings, load_settings
from .verdict import Finding, Policy, UrlReport, Verdict, combine

__all__ = ["Scanner", "default_lang"]

#: Messages ``scan_many`` prepares and scores together (the text model is fastest on about this many).
BATCH = 1000

_SAFE_SUMMARY = {
    "ru": "Признаков мошенничества не найдено.",
    "en": "No signs of fraud found.",
}


def default_lang(settings: Settings | None = None) -> str:
    """The configured language, else the locale's (``ru*`` -> ru), else English."""
    if settings is not None and settings.lang:
        return settings.lang
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        val = os.environ.get(var)
        if val:
            return "ru" if val.lower().startswith("ru") else "en"
    return "en"


def _clean_text(text: str, max_bytes: int) -> tuple[str, str | None]:
    """Make any str scannable: lone surrogates replaced, cut at ``max_bytes`` UTF-8 bytes.

    Returns the text and, when it was cut, a note for the ``degraded`` reason.
    """
    if text.isascii():
        data = None
        if len(text) <= max_bytes:
            return text, None
        return text[:max_bytes], f"{max_bytes} of {len(text)} bytes"
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (possible from JSON "\ud800"): replaced by "?"
        data = text.encode("utf-8", "replace")
        text = data.decode("utf-8")
    if len(data) <= max_bytes:
        return text, None
    return data[:max_bytes].decode("utf-8", "ignore"), f"{max_bytes} of {len(data)} bytes"


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """Messages prepared together by :meth:`Scanner.prepare`: cleaned text -> (normalized form, model scores)."""

    views: dict[str, tuple[NormText, dict[str, Any]]]


class Scanner:
    """Scan chat messages. Thread-safe: its mutable state is its bounded link cache and the batch
    ``scan_many`` is scanning, which is per thread."""

    def __init__(self, settings: Settings | None = None, *, ruleset: RuleSet | None = None):
        self.settings = settings if settings is not None else load_settings()
        self.lang = default_lang(self.settings)
        self.ruleset = ruleset if ruleset is not None else load_rules(self.settings)
        self.policy = Policy(
            suspicious=self.settings.thresholds.suspicious,
            fraud=self.settings.thresholds.fraud,
            category_caps=dict(self.settings.category_caps),
            yields=self.ruleset.yields,
        )
        self.brands = self.ruleset.resources.brands
        self._links = _LinkCache(self.settings.limits.url_cache_size)
        self._batch = threading.local()  # scan_many's prepared messages, seen only by the thread scanning them

    # ------------------------------------------------------------------ public API

    @property
    def rules_version(self) -> str:
        return self.ruleset.version

    @property
    def standings(self) -> Any:
        """The moderators' decisions this scanner applies (:class:`~phishguard.ruleset.moderated.Standings`)."""
        return self.ruleset.resources.moderated.current

    def install_standings(self, standings: Any) -> None:
        """Apply moderators' decisions from now on (the link cache is emptied: its answers predate them)."""
        self.ruleset.resources.moderated.install(standings)
        self._links.clear()

    def scan(
        self,
        text: str,
        *,
        id: str | None = None,
        context: Mapping[str, Any] | None = None,
        lang: str | None = None,
    ) -> Verdict:
        """Scan one message and return its verdict (never raises on any ``str``)."""
        t0 = time.perf_counter()
        deadline = self._deadline()
        lang = lang if lang in ("ru", "en") else self.lang
        limits = self.settings.limits
        text, truncated = _clean_text(text, limits.max_text_bytes)
        signals: dict[str, str] = {}
        if truncated:
            signals["text_truncated"] = truncated
        spans = self._spans(text, signals)
        msg = self._message(text, signals)
        if deadline is not None:
            msg.memo[DEADLINE] = deadline  # the text model checks it before it scores
        findings, reports = self._collect(msg, spans, deadline=deadline)
        return self._verdict(
            findings, reports, lang, t0, id=id, context=context, models=msg.memo.get("models")
        )

    #: Whether this scanner has been warmed up; see :meth:`warm_up`.
    _warmed: bool = False

    def warm_up(self) -> None:
        """Scan :data:`WARM_TEXT` once, so the one-time work of a scanner's first messages (imports, the
        public suffix list, the models loaded on first use: ~0.3 s) is done now: ``serve`` calls it before
        forking, so the workers share what it loaded and no request waits for it."""
        if not self._warmed:
            self._warmed = True
            self.scan(WARM_TEXT)

    def _deadline(self) -> Deadline | None:
        """A new scan's :class:`Deadline` (None without ``limits.scan_budget_ms``), from now, in this thread's
        CPU time. One-time loads
        during the scan (:func:`phishguard.resources.loading`) do not count against it."""
        budget = self.settings.limits.scan_budget_ms
        return Deadline(time.thread_time(), budget / 1000.0) if budget else None

    def _collect(
        self,
        msg: MessageView,
        spans: list[UrlSpan],
        extra: Iterable[Finding] = (),
        *,
        deadline: Deadline | None = None,
    ) -> tuple[list[Finding], list[UrlReport]]:
        """Text rules, link rules per link (cached), ``extra`` findings, then composites over them all.

        With a ``deadline``, the links left when it passes are skipped (as is the text model, which checks it
        itself), and a ``degraded.time-budget`` reason says what was.
        """
        findings: list[Finding] = run_text_rules(self.ruleset, msg)
        reports: list[UrlReport] = []
        per_link = []
        for n, span in enumerate(spans):
            if deadline is not None and deadline.passed():
                deadline.skip("links", _skipped_links(n, len(spans)))
                break
            link, link_findings, report = self._analyze(span)
            reports.append(report)
            per_link.append((link, link_findings))
            findings.extend(link_findings)
        findings.extend(extra)
        if deadline is not None and deadline.skipped:
            findings.extend(_budget_findings(self.ruleset, msg, deadline))
        if findings and self.ruleset.message_rules:
            view = FindingsView(msg=msg, findings=tuple(findings), links=tuple(per_link))
            findings.extend(run_message_rules(self.ruleset, view))
        return findings, reports

    def views(self, text: str, signals: dict[str, str] | None = None) -> tuple[MessageView, list[LinkView]]:
        """What the rules see for ``text``: the message view and one view per extracted link."""
        signals = {} if signals is None else signals
        spans = self._spans(text, signals)
        msg = MessageView(text=text, norm=normalize_text(text), signals=signals)
        return msg, [LinkView(span=s, official_brand=self._official(s)) for s in spans]

    def _spans(self, text: str, signals: dict[str, str]) -> list[UrlSpan]:
        limit = self.settings.limits.max_urls
        spans = extract_urls(text, max_urls=limit + 1)
        if len(spans) > limit:
            signals["too_many_urls"] = f"{limit}+"
            spans = spans[:limit]
        return spans

    def _official(self, span: UrlSpan) -> Any:
        return self.brands.official_brand(span.host) if self.brands is not None else None

    def page_view(self, html: str, url: str) -> Any:
        """The :class:`~phishguard.page.PageView` of ``html`` as if fetched from ``url`` (pure)."""
        return self._page_view(html, url, extract_urls(url, max_urls=1))

    def _page_view(self, html: str, url: str, spans: list[UrlSpan]) -> Any:
        from .page.analyze import analyze_page

        span = spans[0] if spans else None
        return analyze_page(html, span.url if span else url, official_brand=self._official(span) if span else None)

    def scan_page(self, html: str, url: str, *, lang: str | None = None) -> Verdict:
        """Judge a saved page as if fetched from ``url``: the URL's link findings plus the page's
        findings (rules/page.yaml), combined as :meth:`scan` combines a message's. Pure, no network."""
        from .ruleset.engine import run_page_rules

        t0 = time.perf_counter()
        lang = lang if lang in ("ru", "en") else self.lang
        spans = extract_urls(url, max_urls=1)  # extracted once: for the page view and the link rules
        page = run_page_rules(self.ruleset, self._page_view(html, url, spans))
        findings, reports = self._collect(MessageView(text="", norm=normalize_text("")), spans, page)
        return self._verdict(findings, reports, lang, t0)

    def merge(self, verdict: Verdict, findings: Iterable[Finding]) -> Verdict:
        """``verdict`` with more findings (e.g. of fetched pages) added and the whole recombined."""
        extra = list(findings)
        if not extra:
            return verdict
        t0 = time.perf_counter() - verdict.elapsed_ms / 1000.0
        return self._verdict(
            [*verdict.reasons, *extra], list(verdict.urls), verdict.lang, t0,
            id=verdict.id, context=verdict.context, models=verdict.models,
        )

    def _verdict(
        self,
        findings: list[Finding],
        reports: list[UrlReport],
        lang: str,
        t0: float,
        *,
        id: str | None = None,
        context: Mapping[str, Any] | None = None,
        models: Mapping[str, Any] | None = None,
    ) -> Verdict:
        """Combine findings into the verdict (one place for scan, scan_page and merge)."""
        reasons = _dedupe(findings) if findings else findings
        combined = combine(reasons, self.policy)
        return Verdict(
            verdict=combined.verdict,
            score=combined.score,
            summary=self._summary(combined.verdict, reasons, lang),
            reasons=tuple(reasons),
            urls=tuple(reports),
            rules_version=self.ruleset.version,
            lang=lang,
            id=id,
            context=dict(context) if context is not None else None,
            models=dict(models or {}),  # the models that ran (their matchers record them)
            elapsed_ms=(time.perf_counter() - t0) * 1000.0,
        )

    def scan_many(self, texts: Iterable[str], *, lang: str | None = None) -> list[Verdict]:
        """Scan many messages with the loaded rules; same results as ``scan`` one by one.

        Each chunk of ``BATCH`` messages is normalized first and scored by the text model in one vectorized
        call; ``scan`` then takes each message's prepared view (:meth:`_message`) instead of redoing that work.
        """
        texts = list(texts)
        out: list[Verdict] = []
        for i in range(0, len(texts), BATCH):
            chunk = texts[i:i + BATCH]
            with self.using(self.prepare(chunk)):
                out.extend(self.scan(t, lang=lang) for t in chunk)
        return out

    def prepare(self, texts: Iterable[str]) -> Prepared:
        """``texts`` normalized and scored by the text model in one vectorized pass, for :meth:`using`."""
        return Prepared(self._prepare(list(texts)))

    @contextlib.contextmanager
    def using(self, prepared: Prepared) -> Iterator[None]:
        """Within the block, :meth:`scan` of any of the prepared texts (by this thread) reuses their normalized
        form and text-model scores instead of redoing that work; other texts are scanned as usual. Same verdicts
        as without it. Do not suspend (``await``) inside the block: it is per thread, not per task; a caller
        that answers between scans (the service's coalescer) enters it once per scan.
        """
        previous = getattr(self._batch, "prepared", None)
        self._batch.prepared = prepared.views
        try:
            yield
        finally:
            self._batch.prepared = previous

    def prepared(self, texts: Iterable[str]) -> contextlib.AbstractContextManager[None]:
        """``using(prepare(texts))``: the path of ``scan_many`` for callers that need per-message ids,
        contexts and languages (the service's batch endpoint)."""
        return self.using(self.prepare(texts))

    def _prepare(self, texts: list[str]) -> dict[str, tuple[NormText, dict[str, Any]]]:
        """Cleaned text -> (normalized form, model scores) for each distinct message of a batch."""
        limit = self.settings.limits.max_text_bytes
        views: dict[str, MessageView] = {}
        for t in texts:
            clean = _clean_text(t, limit)[0]
            if clean not in views:
                views[clean] = MessageView(text=clean, norm=normalize_text(clean))
        score_batch(self.ruleset.text_rules, list(views.values()))
        return {t: (m.norm, m.memo.get("models", {})) for t, m in views.items()}

    def _message(self, text: str, signals: dict[str, str]) -> MessageView:
        """The view of a cleaned message: from the batch ``scan_many`` prepared (normalized, models scored), else new."""
        prepared = getattr(self._batch, "prepared", None)
        ready = prepared.get(text) if prepared else None
        if ready is None:
            return MessageView(text=text, norm=normalize_text(text), signals=signals)
        norm, models = ready
        return MessageView(text=text, norm=norm, signals=signals, memo={"models": dict(models)} if models else {})

    # ------------------------------------------------------------------ internals

    def _analyze(self, span: UrlSpan) -> tuple[LinkView, tuple[Finding, ...], UrlReport]:
        """A link's view, findings and report; cached by the link as written (same text, same answer)."""
        cached = self._links.get(span.raw)
        if cached is not None:
            return cached
        brand = self._official(span)
        link = LinkView(span=span, official_brand=brand)
        found = tuple(run_link_rules(self.ruleset, link))
        hit_brand = brand.id if brand is not None else _brand_of(found)
        report = UrlReport(
            url=span.url,
            display=span.display,
            host=span.host.ascii,
            registered_domain=span.host.registered_domain,
            brand=hit_brand,
            official=(brand is not None) if hit_brand is not None else None,
            findings=tuple(f.rule for f in found),
        )
        entry = (link, found, report)
        self._links.put(span.raw, entry)
        return entry

    def _summary(self, verdict: str, reasons: list[Finding], lang: str) -> str:
        if verdict == "safe":
            return _SAFE_SUMMARY[lang]
        top = next((r for r in reasons if r.weight > 0), reasons[0])
        return top.message[lang]


class _LinkCache:
    """A bounded map from a link as written to its analysis.

    Plain dict operations are atomic under the GIL, so threads can share it without a lock; when it
    is full it is emptied (cheap, and the hot links come back at once). ``size`` 0 disables it.
    """

    __slots__ = ("_data", "_size")

    def __init__(self, size: int):
        self._size = size
        self._data: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self._data.get(key)

    def clear(self) -> None:
        self._data = {}

    def put(self, key: str, value: Any) -> None:
        if not self._size:
            return
        if len(self._data) >= self._size:
            self._data.clear()
        self._data[key] = value


#: What a scanner scans before its first budgeted message (both models, a lookalike link, the suffix list).
WARM_TEXT = "Получите оплату по ссылке https://аvito-pay.top/receive/1 и введите данные карты"
#: The reason a scan past its time budget gets (rules/degraded.yaml).
TIME_BUDGET_RULE = "degraded.time-budget"


def _skipped_links(first: int, total: int) -> dict[str, str]:
    """What skipping links ``first`` (0-based) to the last of ``total`` is called in a reason."""
    return {"ru": f"ссылки {first + 1}–{total} из {total}", "en": f"links {first + 1}–{total} of {total}"}


def _budget_findings(ruleset: RuleSet, msg: MessageView, deadline: Deadline) -> list[Finding]:
    """The ``degraded.time-budget`` reason naming the parts ``deadline`` skipped (none without the rule)."""
    try:
        rule = ruleset.get(TIME_BUDGET_RULE)
    except KeyError:
        return []
    detail = {lang: ", ".join(d[lang] for d in deadline.skipped.values()) for lang in ("ru", "en")}
    hit = Hit(evidence=detail["en"], vars={"detail": detail})
    return findings_for([dataclasses.replace(rule, fn=lambda _view: (hit,))], msg)


def _brand_of(findings: tuple[Finding, ...]) -> str | None:
    return next((f.brand for f in findings if f.brand), None)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One reason per (rule, evidence), strongest first (stable for equal weights)."""
    seen: set[tuple[str, str]] = set()
    out: list[Finding] = []
    for f in sorted(findings, key=lambda f: -f.weight):
        key = (f.rule, f.evidence)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
