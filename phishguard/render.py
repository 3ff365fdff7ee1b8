"""How verdicts are shown: to people (short, coloured on a terminal, links defanged) and to machines.

>>> defang("https://avito-pay.ru/x")
'hxxps://avito-pay[.]ru/x'
"""

from __future__ import annotations

import json
import re
from typing import Any

import click

from .verdict import Verdict

__all__ = ["defang", "to_json", "human_block", "human_line", "error_record", "FORMATS"]

FORMATS = ("text", "json", "jsonl")

_LABEL = {
    "fraud": {"ru": "МОШЕННИЧЕСТВО", "en": "FRAUD"},
    "suspicious": {"ru": "ПОДОЗРИТЕЛЬНО", "en": "SUSPICIOUS"},
    "safe": {"ru": "БЕЗОПАСНО", "en": "SAFE"},
}
_COLOUR = {"fraud": "red", "suspicious": "yellow", "safe": "green"}
_ADVICE = {
    "fraud": {
        "ru": "Что делать: не переходите по ссылке и никому не сообщайте номер карты, CVV, баланс и коды из СМС. "
        "Площадки не присылают ссылок для «получения оплаты» — общайтесь и получайте деньги только внутри площадки.",
        "en": "What to do: do not open the link and never give anyone your card number, CVV, balance or SMS codes. "
        "Marketplaces never send links to 'receive payment' — talk and get paid only inside the marketplace.",
    },
    "suspicious": {
        "ru": "Что делать: не вводите данные карты по этой ссылке; проверьте сделку в приложении площадки или в её поддержке.",
        "en": "What to do: do not enter card details through this link; check the deal in the marketplace's app or with its support.",
    },
    "suspicious_nolink": {
        "ru": "Что делать: не сообщайте данные карты, её баланс и коды из СМС; проверьте сделку в приложении площадки или в её поддержке.",
        "en": "What to do: do not share card details, its balance or SMS codes; check the deal in the marketplace's app or with its support.",
    },
    "safe": {
        "ru": "Явных признаков обмана нет, но данные карты и коды из СМС не сообщайте никому.",
        "en": "No clear signs of a scam, but never share card details or SMS codes with anyone.",
    },
}
_HEAD = {
    "why": {"ru": "Ещё:", "en": "Also:"},
    "links": {"ru": "Ссылки:", "en": "Links:"},
    "evidence": {"ru": "что найдено", "en": "evidence"},
}
_SEV = {
    "ru": {"info": "инфо", "low": "слабый", "medium": "средний", "high": "сильный", "critical": "критичный"},
    "en": {"info": "info", "low": "low", "medium": "medium", "high": "high", "critical": "critical"},
}

_SCHEME = re.compile(r"^(h)tt(ps?)$", re.IGNORECASE)


def defang(url: str) -> str:
    """Make a link unclickable for people: ``hxxp(s)`` and ``[.]`` in the host.

    >>> defang("https://аvito.ru/pay/1.html")
    'hxxps://аvito[.]ru/pay/1.html'
    >>> defang("avito.ru")
    'avito[.]ru'
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    cut = len(rest)
    for ch in "/?#":
        i = rest.find(ch)
        if i != -1:
            cut = min(cut, i)
    authority, tail = rest[:cut], rest[cut:]
    out = authority.replace(".", "[.]") + tail
    if scheme:
        return _SCHEME.sub(r"\1xx\2", scheme) + "://" + out
    return out


def to_json(obj: Any, *, indent: int | None = None) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=indent)


def error_record(id_: Any, code: str, message: str) -> dict[str, Any]:
    return {"id": id_, "error": {"code": code, "message": message}}


def _links(v: Verdict) -> list[str]:
    out = []
    for u in v.urls:
        shown = defang(u.display)
        if u.display != u.url:
            shown += f"  ({defang(u.host)})"
        out.append(shown)
    return out


def _evidence_line(r, lang: str, style) -> str:
    shown = defang(r.evidence) if r.category in ("url_structure", "lookalike_domain", "reputation") else r.evidence
    return style(f"    {_HEAD['evidence'][lang]}: {shown}  ({r.rule})", dim=True)


def human_block(v: Verdict, lang: str, *, colour: bool) -> str:
    """A few lines for a person: verdict, summary with its evidence, other reasons, links defanged, advice."""
    style = (lambda s, **kw: click.style(s, **kw)) if colour else (lambda s, **kw: s)
    lines = [
        style(f"{_LABEL[v.verdict][lang]} ({v.score:.2f})", fg=_COLOUR[v.verdict], bold=True)
        + (f"  [{v.id}]" if v.id is not None else ""),
        v.summary,
    ]
    shown = [r for r in v.reasons if r.weight > 0 or r.category == "degraded"]
    if v.verdict != "safe" and shown and shown[0].message[lang] == v.summary:
        lines.append(_evidence_line(shown[0], lang, style))  # the summary is the top reason
        shown = shown[1:]
    if shown:
        lines.append(_HEAD["why"][lang])
        for r in shown:
            lines.append(f"  • [{_SEV[lang][r.severity]}] {r.message[lang]}")
            lines.append(_evidence_line(r, lang, style))
    links = _links(v)
    if links:
        lines.append(_HEAD["links"][lang])
        lines.extend(f"  • {x}" for x in links)
    advice = "suspicious_nolink" if v.verdict == "suspicious" and not v.urls else v.verdict
    lines.append(_ADVICE[advice][lang])
    return "\n".join(lines)


def human_line(v: Verdict, lang: str, *, colour: bool) -> str:
    """One line per message (for --file): verdict, score, id, summary, defanged links."""
    label = f"{_LABEL[v.verdict][lang]:<13}"
    if colour:
        label = click.style(label, fg=_COLOUR[v.verdict], bold=True)
    parts = [label, f"{v.score:.2f}"]
    if v.id is not None:
        parts.append(f"[{v.id}]")
    parts.append(v.summary.replace("\n", " "))
    links = _links(v)
    if links:
        parts.append("| " + " ".join(links))
    return " ".join(parts)
