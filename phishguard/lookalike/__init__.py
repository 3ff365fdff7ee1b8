"""Lookalike domains: which brand a host impersonates, how, and how surely.

Classiscam kits send sellers links to domains that look like a marketplace, courier or bank:
``аvito.ru`` (Cyrillic «а»), ``avlto.ru``, ``avito-bezopasnaya-sdelka.ru``, ``youla.ru-receive.online``,
``olx-pl.deliverysafe-pay.shop``, ``allegro.pl-oferta.xyz``, ``0lx.pl``, ``avito.xyz``. This package finds them.

Usage::

    from phishguard.hosts import parse_host
    from phishguard.lookalike import BrandRegistry, LookalikeEngine

    registry = BrandRegistry.default()                      # rules/brands.yaml, validated
    registry = registry.merged([{"id": "shopik", "name": "Shopik", "names": ["shopik"],
                                 "official_domains": ["shopik.kz"]}])   # a deployment's own brands
    engine = LookalikeEngine(registry)                      # build once; thread-safe for reads
    for hit in engine.check(parse_host("youla.ru-receive.online"), path="/pay"):
        print(hit.kind, hit.brand.id, hit.evidence, hit.strength, hit.detail["ru"])

``check`` is pure and cached per host; it returns hits strongest first and ``[]`` for official domains
and all their subdomains. Each :class:`LookalikeHit` carries

* ``kind`` — ``homoglyph`` (confusable letters: ``аvito``), ``idn_brand`` (the name in Cyrillic: ``авито.рф``),
  ``typosquat`` (``avlto``, ``avvito``, ``a11egro``, ``av-ito``), ``combosquat`` (brand + words:
  ``avito-delivery``), ``brand_in_subdomain`` (``avito.ru.safe-deal-pay.com``, ``youla.ru-receive.online``),
  ``tld_swap`` (``avito.xyz``, ``olx-pl.top``), ``brand_in_path`` (``safe.com/avito.ru/pay``);
* ``evidence`` — the impersonating label, a substring of the host's unicode form (of the path for
  ``brand_in_path``);
* ``strength`` — 0..1, from the ``params.strength`` section of ``rules/brands.yaml``;
* ``detail`` — ``{"ru", "en"}``: the difference in plain words ("первая буква — кириллическая «а»"),
  plus ``class`` (omission, repetition, transposition, vowel-swap, keyboard, bitsquat, ...),
  ``official`` (the real domain to name in the message) and positions/characters.

How it works (see docs/lookalike.md): every label gets an aligned confusable *skeleton* (UTS #39 style,
Cyrillic/Greek/accents/fullwidth folded to Latin, ``0``->``o``, ``1``->``l``); one trie-shaped regex of all brand
names finds brand tokens; the rest of the label is segmented into the registry's scam/filler/country words;
edit distance (rapidfuzz OSA, length-bucketed) runs only for names of 5+ letters. Names of 4 letters or
fewer (``olx``, ``dhl``, ``vtb``) get no edit-distance matching at all.

>>> eng = default_engine()
>>> h = eng.check(host_of("xn--vito-43d.ru"))[0]       # аvito.ru, Cyrillic «а»
>>> h.kind, h.brand.id, h.evidence, h.detail["ru"]
('homoglyph', 'avito', 'аvito', 'первая буква — кириллическая «а»')
>>> [h.kind for h in eng.check(host_of("avito.xyz"))], eng.check(host_of("www.avito.ru"))
(['tld_swap'], [])
"""

from __future__ import annotations

from functools import lru_cache

from .engine import KINDS, LookalikeEngine, LookalikeHit
from .hostutil import host_of
from .registry import Brand, BrandRegistry, LookalikeParams, RegistryError, default_registry_path
from .skeleton import skeleton, visual

__all__ = [
    "KINDS",
    "Brand",
    "BrandRegistry",
    "LookalikeEngine",
    "LookalikeHit",
    "LookalikeParams",
    "RegistryError",
    "default_engine",
    "default_registry_path",
    "host_of",
    "skeleton",
    "visual",
]


@lru_cache(maxsize=1)
def default_engine() -> LookalikeEngine:
    """An engine over the shipped ``rules/brands.yaml`` (built once per process)."""
    return LookalikeEngine(BrandRegistry.default())
