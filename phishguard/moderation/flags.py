"""From a verdict to what the store records: the flag, its campaign keys, the redacted text, sightings.

Campaign keys group flags a moderator can decide together:

* ``domain:<registered domain>`` — every non-official link's registered domain;
* ``path:<brand>|<host shape>|<path template>`` — a brand's lookalike links with the same path once
  numbers and ids are replaced (``/pay/123`` and ``/pay/456`` are ``/pay/<n>``), across domains:
  a kit moved to a fresh domain keeps its paths;
* ``kit:<fingerprint>`` — fetched pages with the same page findings and field labels (the same
  phishing kit), from the ``page.*`` reasons.

>>> verdict = {"verdict": "fraud", "score": 0.97, "reasons": [
...     {"rule": "lookalike.combosquat", "category": "lookalike_domain", "evidence": "avito-pay.ru"}],
...     "urls": [{"registered_domain": "avito-pay.ru", "host": "avito-pay.ru", "brand": "avito",
...              "official": False, "url": "https://avito-pay.ru/pay/81723"}], "models": {}, "rules_version": "r1"}
>>> flag = new_flag(verdict, tenant="acme", text="оплата тут https://avito-pay.ru/pay/81723 карта 2200 1234 5678 9010",
...                 message_id="m1", context={"chat_id": "c1"}, store_text="redacted", now=0.0)
>>> flag.domains, flag.campaign_keys
(['avito-pay.ru'], ['domain:avito-pay.ru', 'path:avito|<domain>|/pay/<n>'])
>>> flag.text
'оплата тут https://avito-pay.ru/pay/81723 карта [card]'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from .store.base import NewFlag, Sighting

__all__ = ["campaign_keys", "new_flag", "path_template", "redact", "sightings"]

FLAGGED = frozenset({"suspicious", "fraud"})

_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d ()-]{8,16}\d(?!\d)")
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_NUMBER = re.compile(r"\d+")
_ID = re.compile(r"(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{8,}")


def redact(text: str) -> str:
    """``text`` with card numbers, phone numbers and e-mail addresses masked (links are kept: they
    are what moderators judge).

    >>> redact("пишите +7 (912) 345-67-89 или ivan@mail.ru")
    'пишите [phone] или [email]'
    """
    text = _EMAIL.sub("[email]", text)
    text = _CARD.sub("[card]", text)
    return _PHONE.sub("[phone]", text)


def path_template(url: str) -> str:
    """The URL's path with numbers (``<n>``) and id-like segments (``<id>``) replaced.

    >>> path_template("https://x.ru/order/8812/pay?id=1"), path_template("https://x.ru/p/a8Fk2LmQ9z/")
    ('/order/<n>/pay', '/p/<id>/')
    """
    try:
        path = urlsplit(url).path or "/"
    except ValueError:
        return "/"
    parts = []
    for seg in path.split("/"):
        if seg.isdigit():
            parts.append("<n>")
        elif _ID.fullmatch(seg):
            parts.append("<id>")
        else:
            parts.append(_NUMBER.sub("<n>", seg)[:40])
    return "/".join(parts)[:200]


def _host_shape(host: str, registered: str) -> str:
    """The host with its registered domain replaced, so a kit moved to a fresh domain (any TLD)
    keeps its shape: ``pay.avito-x.ru`` -> ``pay.<domain>``."""
    sub = host[: -len(registered)].rstrip(".") if registered and host.endswith(registered) else ""
    return f"{sub}.<domain>" if sub else "<domain>"


def campaign_keys(verdict: dict[str, Any]) -> list[str]:
    """The campaign keys of a flagged verdict (see the module doc), without repeats, in order."""
    keys: list[str] = []
    for url in verdict.get("urls", ()):
        if url.get("official") is True or not url.get("registered_domain"):
            continue
        keys.append(f"domain:{url['registered_domain']}")
        template = path_template(url.get("url", ""))
        if url.get("brand") and template.strip("/"):
            keys.append(f"path:{url['brand']}|{_host_shape(url.get('host', ''), url['registered_domain'])}|{template}")
    page = sorted({(r["rule"], r.get("evidence", "")) for r in verdict.get("reasons", ()) if r["rule"].startswith("page.")})
    if page:
        keys.append("kit:" + hashlib.sha256(repr(page).encode("utf-8")).hexdigest()[:16])
    return list(dict.fromkeys(keys))


def _domains(verdict: dict[str, Any]) -> list[str]:
    return list(
        dict.fromkeys(
            u["registered_domain"]
            for u in verdict.get("urls", ())
            if u.get("official") is not True and u.get("registered_domain")
        )
    )


def new_flag(
    verdict: dict[str, Any],
    *,
    tenant: str,
    text: str,
    message_id: str | None,
    context: dict[str, Any] | None,
    store_text: str,
    now: float,
) -> NewFlag:
    """The flag to record for a suspicious/fraud ``verdict`` (SPEC §1 dict) of ``text``."""
    reasons = list(verdict.get("reasons", ()))
    urls = list(verdict.get("urls", ()))
    brand = next((r.get("brand") for r in reasons if r.get("brand")), None) or next(
        (u["brand"] for u in urls if u.get("brand")), None
    )
    kept = text if store_text == "full" else redact(text) if store_text == "redacted" else None
    if store_text != "full":  # the evidence is a piece of the text: it must not keep what the text drops
        reasons = [{**r, "evidence": redact(r.get("evidence", ""))} for r in reasons]
    return NewFlag(
        tenant=tenant,
        message_id=None if message_id is None else str(message_id),
        verdict=verdict["verdict"],
        score=float(verdict["score"]),
        text=kept,
        context=dict(context or {}),
        reasons=reasons,
        urls=urls,
        models=dict(verdict.get("models") or {}),
        rules_version=str(verdict.get("rules_version", "")),
        categories=list(dict.fromkeys(r["category"] for r in reasons)),
        brand=brand,
        domains=_domains(verdict),
        campaign_keys=campaign_keys(verdict),
        created_at=now,
    )


def sightings(
    verdict: dict[str, Any],
    *,
    tenant: str,
    message_id: str | None,
    context: dict[str, Any] | None,
    now: float,
    domains: Iterable[str] | None = None,
) -> Iterable[Sighting]:
    """One sighting per non-official registered domain of the message (any verdict); ``domains``: those
    domains when the caller has them already (a flag's)."""
    for domain in domains if domains is not None else _domains(verdict):
        yield Sighting(
            domain=domain,
            tenant=tenant,
            message_id=None if message_id is None else str(message_id),
            context=dict(context or {}),
            verdict=verdict["verdict"],
            seen_at=now,
        )
