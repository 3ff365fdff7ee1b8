"""Page-scope matchers (rules/page.yaml): card fields, brand impersonation, scam script, form targets.

Each is registered with :func:`phishguard.ruleset.matchers.matcher` under scope ``page`` and is called
on a :class:`PageView`. Shared per-page work (field kinds, brands shown, the word analysis of the
page text) is computed once and kept in ``PageView.memo``.

>>> from phishguard.page.analyze import analyze_page
>>> v = analyze_page('<label>Остаток на карте</label><input name=b><input autocomplete=cc-csc>', "https://x.top/")
>>> sorted(field_kinds(v))
['balance', 'cvc']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Literal

from pydantic import Field as PField

from ..hosts import parse_host
from ..normalize import normalize_text
from ..ruleset.matchers import Hit, MessageView, Resources, _Params, matcher
from ..ruleset.text_matchers import NearParams, _build_near
from .analyze import Field, PageView

__all__ = ["KINDS", "brands_shown", "field_kinds", "kinds_of"]

Kind = Literal["number", "cvc", "expiry", "balance", "sms_code", "holder"]
KINDS: tuple[str, ...] = ("number", "cvc", "expiry", "balance", "sms_code", "holder")
CARD_DATA: list[Kind] = ["number", "cvc", "expiry", "balance", "sms_code"]

_AUTOCOMPLETE = {"cc-number": "number", "cc-csc": "cvc", "cc-exp": "expiry", "cc-exp-month": "expiry",
                 "cc-exp-year": "expiry", "cc-name": "holder", "one-time-code": "sms_code"}
#: Substrings of a field's name/id (lowercase, separators removed).
_NAME_HINTS: dict[str, tuple[str, ...]] = {
    "number": ("cardnumber", "cardnum", "ccnumber", "ccnum", "cardno", "cardnr", "nomerkarty", "numerkarty"),
    "cvc": ("cvv", "cvc", "csc", "cvn", "securitycode", "seccode"),
    "expiry": ("expir", "expdate", "expmonth", "expyear", "ccexp", "cardexp", "mmyy", "validthru", "srok"),
    "balance": ("balance", "balans", "ostatok", "saldo"),
    "sms_code": ("smscode", "sms", "otp", "3ds", "confirmcode", "kodsms"),
    "holder": ("cardholder", "holder", "ccname"),
}
_PAN_EXACT = frozenset({"pan", "card", "cc"})
#: Regexes over a field's label/placeholder, normalized (lowercase, ё->е, split letters joined).
_TEXT_HINTS: dict[str, re.Pattern[str]] = {
    "number": re.compile(r"номер\w* карт|card ?number|card no\b|numer karty|номер картки|\b\d{4} \d{4} \d{4} \d{4}\b"
                         r"|\b([#x0-9*])\1{3} \1{4} \1{4} \1{4}\b"),
    "cvc": re.compile(r"\b(cvv|cvc|cvn|csc|cvv2|cvc2)\b|код безопасности|security code|три цифры"),
    "expiry": re.compile(r"срок действия|действительна до|\bмм ?/ ?гг\b|\bmm ?/ ?yy\b|expir|valid thru|data ważności"
                         r"|термін дії"),
    "balance": re.compile(r"баланс|остат(ок|ка|ке)|\bbalance\b|\bsaldo\b|залишок|доступн\w* (средств|сумм)"),
    "sms_code": re.compile(r"код из (смс|sms)|(смс|sms)[ -]?код|sms code|код подтверждения|one[ -]?time|kod sms"
                           r"|3-?d ?secure"),
    "holder": re.compile(r"держател\w* карт|владел\w* карт|card ?holder|имя на карте|name on card"),
}
_MASK_NUMBER = re.compile(r"([#9x0])\1{3}[ -]?\1{4}[ -]?\1{4}[ -]?\1{4}", re.IGNORECASE)


def kinds_of(f: Field) -> dict[str, str]:
    """The kinds of card data one field asks for, each with the evidence (what the person sees)."""
    out: dict[str, str] = {}
    shown = f.shown
    for token in f.autocomplete.split():
        kind = _AUTOCOMPLETE.get(token)
        if kind:
            out.setdefault(kind, shown)
    for raw in (f.name, f.id):
        key = re.sub(r"[^a-z0-9]", "", raw.lower())
        if not key:
            continue
        if key in _PAN_EXACT:
            out.setdefault("number", shown)
        for kind, hints in _NAME_HINTS.items():
            if any(h in key for h in hints):
                out.setdefault(kind, shown)
    text = normalize_text(" / ".join(x for x in (f.label, f.placeholder) if x)[:400]).text
    if text:
        for kind, rx in _TEXT_HINTS.items():
            if rx.search(text):
                out.setdefault(kind, shown)
    if f.mask and _MASK_NUMBER.search(f.mask):
        out.setdefault("number", shown)
    return out


def field_kinds(page: PageView) -> dict[str, str]:
    """Kinds of card data the page asks for -> the first field's evidence (memoized per page)."""
    found = page.memo.get("kinds")
    if found is None:
        found = {}
        for f in page.fields:
            for kind, ev in kinds_of(f).items():
                found.setdefault(kind, ev)
        page.memo["kinds"] = found
    return found


def _has_any(page: PageView, kinds: list[str]) -> tuple[str, str] | None:
    found = field_kinds(page)
    return next(((k, found[k]) for k in kinds if k in found), None)


_WORD_RE = re.compile(r"[^\W_]+")


def _brand_index(res: Resources) -> dict[str, object]:
    index: dict[str, object] = {}
    for brand in res.brands or ():
        for name in (*brand.names, *brand.aliases):
            index.setdefault(name.replace("-", "").lower(), brand)
    return index


def brands_shown(page: PageView, index: dict[str, object]) -> list[tuple[object, str, str]]:
    """(brand, where, text) for each registry brand the page presents itself as (title, site name,
    headings, logos and favicon), first occurrence per brand."""
    found = page.memo.get("brands")
    if found is not None:
        return found
    found = []
    seen: set[str] = set()
    sources = [("title", page.title), ("site_name", page.site_name)]
    sources += [("heading", h) for h in page.headings[:10]] + [("logo", x) for x in page.logos[:20]]
    for where, text in sources:
        words = _WORD_RE.findall(normalize_text(text[:300]).text) if text else []
        cands = words + [a + b for a, b in pairwise(words)]
        for w in cands:
            brand = index.get(w)
            if brand is not None and brand.id not in seen:  # type: ignore[attr-defined]
                seen.add(brand.id)  # type: ignore[attr-defined]
                found.append((brand, where, text))
    page.memo["brands"] = found
    return found


def _unofficial(page: PageView) -> bool:
    return page.official_brand is None


PageFn = Callable[[PageView], Iterator[Hit]]


class FieldsParams(_Params):
    kinds: list[Kind] = PField(min_length=1, description="Kinds of card data: number, cvc, expiry, balance, sms_code, holder.")
    min_kinds: int = PField(1, ge=1, le=6, description="How many of the listed kinds must be asked for.")


@matcher("page_fields", "page", FieldsParams)
def _build_fields(p: FieldsParams, res: Resources) -> PageFn:
    """The page has fields asking for the listed kinds of card data (by autocomplete, name/id, label,
    placeholder or input mask); evidence is the field's label."""

    def run(page: PageView) -> Iterator[Hit]:
        found = field_kinds(page)
        hits = [k for k in p.kinds if k in found]
        if len(hits) >= p.min_kinds:
            ev = found[hits[0]]
            yield Hit(evidence=ev, vars={"field": ev, "host": page.host.unicode if page.host else page.url})

    return run


class BrandParams(_Params):
    require_fields: list[Kind] = PField(default_factory=lambda: list(CARD_DATA),
                                        description="The page must also ask for one of these kinds of card data.")


@matcher("page_brand", "page", BrandParams)
def _build_brand(p: BrandParams, res: Resources) -> PageFn:
    """The page presents itself as a registry brand (title, og:site_name, headings, logo, favicon) and asks
    for card data, on a host that is no brand's official domain."""
    index = _brand_index(res)

    def run(page: PageView) -> Iterator[Hit]:
        if not _unofficial(page) or not index:
            return
        need = _has_any(page, p.require_fields)
        if need is None:
            return
        for brand, where, text in brands_shown(page, index):
            if page.host is not None and page.host.registered_domain in brand.known_legit:  # type: ignore[attr-defined]
                continue
            yield Hit(evidence=text[:200], brand=brand.id,  # type: ignore[attr-defined]
                      vars={"brand": brand.name, "official": brand.main_domain,  # type: ignore[attr-defined]
                            "field": need[1], "host": page.host.unicode if page.host else page.url})
            return

    return run


class PageNearParams(NearParams):
    require_fields: list[Kind] = PField(default_factory=list, description="The page must also ask for one of these.")
    unofficial_only: bool = PField(True, description="Never on a brand's official domain.")


@matcher("page_near", "page", PageNearParams)
def _build_page_near(p: PageNearParams, res: Resources) -> PageFn:
    """``near`` (words close together) over the page's visible text, optionally only when the page asks
    for card data and is not on an official domain; evidence is the phrase."""
    near = _build_near(NearParams(**p.model_dump(include=set(NearParams.model_fields))), res)

    def run(page: PageView) -> Iterator[Hit]:
        if p.unofficial_only and not _unofficial(page):
            return
        need = _has_any(page, p.require_fields) if p.require_fields else ("", "")
        if need is None:
            return
        msg = page.memo.get("msg")
        if msg is None:
            msg = page.memo["msg"] = MessageView(text=page.text, norm=page.norm)
        for hit in near(msg):
            yield Hit(evidence=hit.evidence, vars={"phrase": hit.evidence, "field": need[1],
                                                   "host": page.host.unicode if page.host else page.url})
            return

    return run


class ActionParams(_Params):
    target: Literal["other_domain", "ip"] = PField(description="other_domain: another registered domain; ip: a raw IP.")
    require_fields: list[Kind] = PField(default_factory=lambda: list(CARD_DATA),
                                        description="The form must hold a field asking for one of these.")


@matcher("page_form_action", "page", ActionParams)
def _build_action(p: ActionParams, res: Resources) -> PageFn:
    """A form that asks for card data sends it to another registered domain, or to a raw IP address."""

    def run(page: PageView) -> Iterator[Hit]:
        if page.host is None:
            return
        for i, form in enumerate(page.forms):
            kinds = {k: ev for f in page.fields if f.form == i for k, ev in kinds_of(f).items()}
            if not any(k in kinds for k in p.require_fields):
                continue
            from yarl import URL

            try:
                raw = URL(form.action).raw_host or ""
            except (ValueError, TypeError):
                continue
            target = parse_host(raw.strip("[]")) if raw else None
            if target is None:
                continue
            if p.target == "ip" and target.ip is not None:
                yield Hit(evidence=form.action[:200], vars={"target": str(target.ip), "host": page.host.unicode})
                return
            if (p.target == "other_domain" and target.ip is None and target.registered_domain
                    and target.registered_domain != page.host.registered_domain):
                yield Hit(evidence=form.action[:200], vars={"target": target.unicode, "host": page.host.unicode})
                return

    return run


class PageSignalParams(_Params):
    name: str = PField(description="A page signal: truncated, fetch_refused, fetch_failed.")


@matcher("page_signal", "page", PageSignalParams)
def _build_page_signal(p: PageSignalParams, res: Resources) -> PageFn:
    """Fires when the fetcher or analyzer raised the named signal (refused address, cut page ...)."""

    def run(page: PageView) -> Iterator[Hit]:
        value = page.signals.get(p.name)
        if value is not None:
            yield Hit(evidence=value[:300], vars={"detail": value[:300], "url": page.url})

    return run
