"""rules/brands.yaml: validates, covers the brands of the issue, official domains are real and never flagged."""

from __future__ import annotations

import pytest
import tldextract

from phishguard.lookalike import BrandRegistry, LookalikeEngine, LookalikeParams, RegistryError, host_of
from phishguard.lookalike.registry import default_registry_path

REQUIRED = {
    "avito", "youla", "ozon", "wildberries", "yandex", "cdek", "boxberry", "pochta", "dostavista", "cian", "drom",
    "autoru", "sber", "tbank", "alfabank", "vtb", "gosuslugi", "kufar", "belpost", "evropochta", "olx",
    "novaposhta", "ukrposhta", "privatbank", "oschadbank", "monobank", "kaspi", "kazpost", "allegro", "inpost",
    "vinted", "dhl", "blablacar", "booking", "airbnb", "ebay",
}


@pytest.fixture(scope="module")
def registry() -> BrandRegistry:
    return BrandRegistry.default()


@pytest.fixture(scope="module")
def engine(registry) -> LookalikeEngine:
    return LookalikeEngine(registry)


def test_yaml_validates_and_covers_the_issue(registry):
    assert len(registry) >= 40
    assert REQUIRED <= {b.id for b in registry}
    assert registry.scam_words and registry.geo_words and registry.filler_words
    avito = registry.get("avito")
    assert avito.main_domain == "avito.ru" and "авито" in avito.aliases
    assert {"olx.pl", "olx.ua", "olx.kz", "olx.uz", "olx.ro", "olx.bg", "olx.pt", "olx.com.br"} <= \
        registry.get("olx").official_domains
    assert {"allegro.pl", "allegrolokalnie.pl"} <= registry.get("allegro").official_domains
    assert {"cdek", "sdek"} <= set(registry.get("cdek").names) and "сдэк" in registry.get("cdek").aliases
    assert {"tbank.ru", "tinkoff.ru"} <= registry.get("tbank").official_domains


def test_params_come_from_yaml():
    p = LookalikeParams.from_yaml(default_registry_path())
    assert p.short_name_len == 4 and 0 < p.strength.homoglyph <= 1


def test_every_official_domain_is_a_registrable_domain(registry):
    ext = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)
    for b in registry:
        for d in b.official_domains | b.known_legit:
            r = ext(d)
            assert f"{r.domain}.{r.suffix}" == d, f"{b.id}: {d} is not a registered domain"


def test_official_domains_are_not_shared_between_brands(registry):
    seen: dict[str, str] = {}
    for b in registry:
        for d in b.official_domains:
            assert d not in seen, f"{d} is official for both {seen[d]} and {b.id}"
            seen[d] = b.id


def test_every_official_domain_of_every_brand_is_clean(registry, engine):
    for b in registry:
        for d in sorted(b.official_domains):
            for h in (d, "www." + d, "m.secure-pay." + d, d + "."):
                info = host_of(h)
                assert registry.official_brand(info) is not None, h
                assert engine.check(info) == [], h
                assert engine.check(info, "/avito-oplata/olx.pl") == [], h


def test_known_legit_domains_are_not_flagged_for_their_brand(registry, engine):
    for b in registry:
        for d in b.known_legit:
            assert not [h for h in engine.check(host_of(d)) if h.brand.id == b.id], d


def test_brand_tld_is_official(registry, engine):
    assert registry.official_brand(host_of("express.dhl")).id == "dhl"
    assert engine.check(host_of("logistics.dhl")) == []


@pytest.mark.parametrize("text,needle", [
    ("brands: [{id: Bad, name: X, names: [x1], official_domains: [x.ru]}]", "'id'"),
    ("brands: [{id: x, name: X, names: [xy], official_domains: [not-a-domain]}]", "official_domains"),
    ("brands: [{id: x, name: X, names: [], official_domains: [x.ru]}]", "names"),
    ("brands: [{id: x, name: X, names: [xy], official_domains: [x.ru], colour: red}]", "colour"),
    ("brands: [{id: x, name: X, names: [xy], official_domains: [x.ru, x.ru]}]", "listed twice"),
    (("brands: [{id: x, name: X, names: [xy], official_domains: [x.ru]},"
     " {id: x, name: Y, names: [yz], official_domains: [y.ru]}]"), "duplicate"),
    ("brands: [{id: x, name: X, names: [xy], aliases: [abc], official_domains: [x.ru]}]", "aliases"),
])
def test_invalid_yaml_names_the_brand_and_field(text, needle):
    with pytest.raises(RegistryError) as exc:
        BrandRegistry.from_yaml(text)
    msg = str(exc.value)
    assert needle in msg
    assert "brand 'x'" in msg or "brand 'Bad'" in msg


def test_merged_adds_a_custom_brand_and_extends_an_existing_one(registry):
    reg = registry.merged([
        {"id": "shopik", "name": "Shopik", "names": ["shopik"], "aliases": ["шопик"],
         "official_domains": ["shopik.kz", "shopik.uz"], "keywords": ["vydacha"]},
        {"id": "avito", "official_domains": ["avito.kz"]},
    ])
    assert len(reg) == len(registry) + 1
    eng = LookalikeEngine(reg)
    assert eng.check(host_of("pay.shopik.kz")) == []
    assert eng.check(host_of("avito.kz")) == []
    hits = eng.check(host_of("shopik-vydacha.com"))
    assert hits and hits[0].brand.id == "shopik" and hits[0].kind == "combosquat"
    assert eng.check(host_of("shopik.xyz"))[0].kind == "tld_swap"
    assert eng.check(host_of("шопик.рф"))[0].kind == "idn_brand"
    assert eng.check(host_of("shoplk.com"))[0].kind == "typosquat"
    # the original registry is untouched
    assert LookalikeEngine(registry).check(host_of("avito.kz"))[0].kind == "tld_swap"


def test_merged_rejects_invalid_entries(registry):
    with pytest.raises(RegistryError, match="brand 'bad'"):
        registry.merged([{"id": "bad", "name": "Bad", "names": ["bad"], "official_domains": ["nodot"]}])
    with pytest.raises(RegistryError):
        registry.merged([{"name": "no id"}])


def test_unicode_official_domains_are_stored_as_punycode(registry):
    assert "xn--d1acpjx3f.xn--p1ai" in registry.get("yandex").official_domains  # яндекс.рф
