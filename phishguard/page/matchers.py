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
from ..ruleset.matchers import Hit, MessageView, Resources, SignalParams, _Params, build_signal, matcher
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


# The page scope's signal matcher is the shared one (same parameters, any view with ``signals``).
matcher("page_signal", "page", SignalParams)(build_signal)


def _brand_off_domain(page: PageView, index: dict[str, object]) -> tuple[object, str] | None:
    """The first registry brand the page presents itself as, when the host is not that brand's domain."""
    if not _unofficial(page):
        return None
    for brand, _where, text in brands_shown(page, index):
        if page.host is not None and page.host.registered_domain in brand.known_legit:  # type: ignore[attr-defined]
            continue
        return brand, text
    return None


class WidgetParams(_Params):
    require_fields: list[Kind] = PField(default_factory=lambda: list(CARD_DATA),
                                        description="The page must also ask for one of these kinds of card data.")
    require_brand: bool = PField(True, description="And present itself as a registry brand off that brand's domain.")


@matcher("page_support_widget", "page", WidgetParams)
def _build_widget(p: WidgetParams, res: Resources) -> PageFn:
    """A support-chat widget (jivosite, tawk.to, livechat, crisp ..., a chat block or an "Онлайн-консультант"
    caption) on a page that asks for card data off any official domain and, by default, poses as a
    registry brand; evidence is the widget. A widget alone is never a finding: shops use them too."""
    index = _brand_index(res)

    def run(page: PageView) -> Iterator[Hit]:
        if not page.widgets or not _unofficial(page):
            return
        need = _has_any(page, p.require_fields)
        if need is None:
            return
        brand = _brand_off_domain(page, index) if p.require_brand else None
        if p.require_brand and brand is None:
            return
        b = brand[0] if brand else None
        yield Hit(evidence=page.widgets[0], brand=getattr(b, "id", None),
                  vars={"widget": page.widgets[0], "field": need[1], "brand": getattr(b, "name", ""),
                        "host": page.host.unicode if page.host else page.url})

    return run


_TRANSLIT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i", "й": "y",
    "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f",
    "х": "h", "ц": "c", "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
})


#: Generic words kits put in their domains (translit): a page saying "Оплата доставки" on
#: cdek-oplata.ru.com names no site of its own.
_GENERIC = frozenset("""
dostavka dostavki dostavku oplata oplaty oplatu oplate sdelka sdelki sdelku bezopasnaya bezopasnoy poluchenie
polucheniya poluchit zakaz zakaza karta karty kartu dengi sredstva perevod vyplata vozvrat podtverzhdenie
secure payment payments delivery order orders safe deal card cards cash money confirm verify verification
service servis online onlayn shop magazin help support bank tracking track dostawa platnosc oferta refund
receive funds transfer checkout booking bronirovanie
""".split())


def names_itself(page: PageView, index: dict[str, object]) -> str | None:
    """A name from the title, og:site_name, logo or first headings (not a registry brand's) that the host
    also carries — the page says whose it is ("Веломир" on velomir-shop.ru). Kit pages name nobody or
    somebody else."""
    if page.host is None or not page.host.registered_domain:
        return None
    host = re.sub(r"[^a-z0-9]", "", page.host.registered_domain.split(".")[0].lower())
    if len(host) < 3:
        return None
    sources = [page.title, page.site_name, *page.logos[:10], *page.headings[:3]]
    for text in sources:
        for w in _WORD_RE.findall(normalize_text(text[:300]).text) if text else ():
            lat = w.translate(_TRANSLIT)
            if len(w) < 4 or w in index or lat in _GENERIC:
                continue
            if lat in host or (len(host) >= 4 and host in lat):
                return text
    return None


class ShellParams(_Params):
    kinds: list[Kind] = PField(default_factory=lambda: ["cvc", "expiry", "balance"],
                               description="The main form asks for the card number and one of these.")
    max_links: int = PField(3, ge=0, le=50, description="At most this many links outside the main form.")
    max_text_outside: int = PField(300, ge=0, description="At most this many characters of text outside it.")
    min_share: float = PField(0.2, ge=0, le=1, description="The form holds at least this share of the page's text.")
    unless_named: bool = PField(True, description="Not when the page names its own site (title/logo word in the host).")


@matcher("page_form_shell", "page", ShellParams)
def _build_shell(p: ShellParams, res: Resources) -> PageFn:
    """The page is a thin shell around one card form: the main form asks for the card number and CVV,
    expiry or balance, few links and little text stand outside it, the host is no official domain, and
    the page does not name its own site; evidence is the measure."""
    index = _brand_index(res)

    def run(page: PageView) -> Iterator[Hit]:
        main = page.main_form
        if main is None or not _unofficial(page):
            return
        kinds = {k: ev for f in page.fields if f.form == main for k, ev in kinds_of(f).items()}
        if "number" not in kinds or not any(k in kinds for k in p.kinds):
            return
        outside_links = sum(1 for x in page.links if x.form != main and not x.href.startswith(("javascript:", "#")))
        # what the form says: its visible text plus its placeholders (kits often label fields only so)
        held = sum(len(f.placeholder) for f in page.fields if f.form == main)
        total = len(page.text) + sum(len(f.placeholder) for f in page.fields)
        inside = page.forms[main].text + held
        outside = max(0, total - inside)
        share = inside / total if total else 1.0
        if outside_links > p.max_links or outside > p.max_text_outside or share < p.min_share:
            return
        if p.unless_named and names_itself(page, index):
            return
        ev = f"{share:.0%} of the text in the card form, {outside_links} links outside it"
        yield Hit(evidence=ev, vars={"share": f"{share:.0%}", "links": str(outside_links), "field": kinds["number"],
                                     "host": page.host.unicode if page.host else page.url})

    return run


class ButtonParams(NearParams):
    max_words: int = PField(5, ge=1, le=12, description="The button's whole text is at most this many words.")
    absent_fields: list[Kind] = PField(default_factory=lambda: list(CARD_DATA),
                                       description="The page asks for none of these (else the form rules judge it).")
    require_brand: bool = PField(True, description="And presents itself as a registry brand off that brand's domain.")


@matcher("page_button", "page", ButtonParams)
def _build_button(p: ButtonParams, res: Resources) -> PageFn:
    """A button or link whose short text is the call (``near`` terms, e.g. "Получить деньги") on a page that
    asks for no card data yet, off any official domain and, by default, posing as a registry brand: the
    landing page of a kit, whose next step is the card form; evidence is the button text."""
    near = _build_near(NearParams(**p.model_dump(include=set(NearParams.model_fields))), res)
    index = _brand_index(res)

    def run(page: PageView) -> Iterator[Hit]:
        if not _unofficial(page) or _has_any(page, p.absent_fields) is not None:
            return
        brand = _brand_off_domain(page, index) if p.require_brand else None
        if p.require_brand and brand is None:
            return
        for text in (*page.buttons, *(x.text for x in page.links if x.text)):
            if not text or len(text.split()) > p.max_words:
                continue
            norm = normalize_text(text[:200])
            if any(near(MessageView(text=text, norm=norm))):
                b = brand[0] if brand else None
                yield Hit(evidence=text[:100], brand=getattr(b, "id", None),
                          vars={"button": text[:100], "brand": getattr(b, "name", ""),
                                "official": getattr(b, "main_domain", ""),
                                "host": page.host.unicode if page.host else page.url})
                return

    return run
