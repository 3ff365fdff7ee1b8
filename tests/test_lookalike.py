"""Lookalike engine: each kind with positive and negative cases, explanations, paths, speed-safe properties,
dnstwist permutations and the real-data checks (skipped when ../shared/data is absent)."""

from __future__ import annotations

import csv
import gzip
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phishguard.lookalike import KINDS, BrandRegistry, LookalikeEngine, host_of, skeleton

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"real data sets not found at {DATA} (CI has them)")


@pytest.fixture(scope="module")
def engine() -> LookalikeEngine:
    return LookalikeEngine(BrandRegistry.default())


def kinds(engine, host, path=""):
    return [(h.kind, h.brand.id) for h in engine.check(host_of(host), path)]


# ------------------------------------------------------------------------------------------ positives
@pytest.mark.parametrize("host,kind,brand", [
    # homoglyph / mixed script (Cyrillic, Greek, accents, punycode)
    ("аvito.ru", "homoglyph", "avito"),                 # Cyrillic а
    ("xn--vito-43d.ru", "homoglyph", "avito"),          # the same as punycode
    ("avitо.com", "homoglyph", "avito"),                # Cyrillic о at the end
    ("ozоn.ru", "homoglyph", "ozon"),                   # short name: skeleton only
    ("оlх.pl", "homoglyph", "olx"),
    ("allegrο.pl", "homoglyph", "allegro"),             # Greek omicron
    ("wildbеrriеs.ru", "homoglyph", "wildberries"),
    ("аvіtо-оplata.ru", "homoglyph", "avito"),          # whole-script lookalike + scam word
    ("sbеr.ru.com", "homoglyph", "sber"),
    # whole-Cyrillic spelling on a foreign domain
    ("авито.рф", "idn_brand", "avito"),
    ("сдэк.рф", "idn_brand", "cdek"),
    ("юла.рф", "idn_brand", "youla"),
    # typosquats (Latin)
    ("avlto.ru", "typosquat", "avito"),
    ("avvito.ru", "typosquat", "avito"),
    ("avtio.ru", "typosquat", "avito"),
    ("a11egro.pl", "typosquat", "allegro"),
    ("0lx.pl", "typosquat", "olx"),
    ("allegrolokalme.pl", "typosquat", "allegro"),
    ("wildberies.ru", "typosquat", "wildberries"),
    ("rnonobank.ua", "typosquat", "monobank"),
    ("sberbnak.ru", "typosquat", "sber"),
    ("gosusiugi.ru", "typosquat", "gosuslugi"),
    ("av-ito.ru", "typosquat", "avito"),
    ("av.ito.ru", "typosquat", "avito"),
    ("pochhta.ru", "typosquat", "pochta"),              # ordinary-word name: only on its own TLD
    # combosquats (Latin, transliterated Russian, Polish)
    ("avito-delivery.ru", "combosquat", "avito"),
    ("youla-pay.com", "combosquat", "youla"),
    ("cdek-oplata.site", "combosquat", "cdek"),
    ("bezopasnaya-sdelka-avito.ru", "combosquat", "avito"),
    ("avitobezopasnayasdelka.ru", "combosquat", "avito"),
    ("sdek-dostavka24.online", "combosquat", "cdek"),
    ("olx-dostawa.com", "combosquat", "olx"),
    ("inpost-platnosc.pl", "combosquat", "inpost"),
    ("secureavito.com", "combosquat", "avito"),
    ("novaposhta-otrymaty.com", "combosquat", "novaposhta"),
    ("allegro-1000.com", "combosquat", "allegro"),
    # brand in a subdomain of a foreign domain
    ("avito.ru.safe-deal-pay.com", "brand_in_subdomain", "avito"),
    ("youla.ru-receive.online", "brand_in_subdomain", "youla"),
    ("allegro.pl-oferta.xyz", "brand_in_subdomain", "allegro"),
    ("olx-pl.deliverysafe-pay.shop", "brand_in_subdomain", "olx"),
    ("olx.licelos.lol", "brand_in_subdomain", "olx"),
    ("www.olx.pl.secure-order.top", "brand_in_subdomain", "olx"),
    ("avito.pay-safe.vercel.app", "brand_in_subdomain", "avito"),
    # TLD swap
    ("avito.xyz", "tld_swap", "avito"),
    ("olx-pl.top", "tld_swap", "olx"),
    ("allegro-pl.shop", "tld_swap", "allegro"),
    ("avito-ru.site", "tld_swap", "avito"),
])
def test_positive(engine, host, kind, brand):
    hits = engine.check(host_of(host))
    assert hits, f"{host}: no hit"
    assert (hits[0].kind, hits[0].brand.id) == (kind, brand), [(h.kind, h.brand.id) for h in hits]
    info = host_of(host)
    for h in hits:
        assert h.kind in KINDS
        assert 0 < h.strength <= 1
        assert h.evidence and (h.evidence in info.unicode or h.evidence in info.ascii), (h.evidence, info)
        assert h.detail["ru"] and h.detail["en"] and h.detail["official"]


# ------------------------------------------------------------------------------------------ negatives
@pytest.mark.parametrize("host", [
    "avito.ru", "m.avito.ru", "www.avito.ru.", "youla.ru", "olx.pl", "www.olx.com.br", "allegrolokalnie.pl",
    "dhlparcel.nl", "express.dhl", "online.sberbank.ru", "cdek.kz", "pochta.ru", "market.yandex.ru",
    "gravitonprofit.com",        # contains "avito" inside a word
    "holx.com", "flolx.de",      # "olx" inside a word
    "google.com", "wikipedia.org", "example.com", "mail.ru", "vk.com", "ozone.bg",
    "allegromicro.com", "allegro.cc", "dhlottery.co.kr", "minted.com", "kaspa.org", "anpost.ie",
    "cooking.com", "booking-hotel.de", "platform.com", "dhl33.com", "olx188g.club",
    "wb.com", "clan.com", "aviso.com", "alto.com", "bank.ru", "abank.com",
    "почта.рф", "озоновый.рф", "юлия.рф", "автомобили.рф", "кто.рф",
    "127.0.0.1", "[::1]",
])
def test_negative(engine, host):
    assert engine.check(host_of(host)) == [], kinds(engine, host)


def test_unknown_suffix_and_bare_suffix_do_not_crash(engine):
    for h in ("localhost", "avito", "github.io", "co.uk", "a.b.c.d.e.f.g.avito-pay.internal"):
        engine.check(host_of(h))


# ------------------------------------------------------------------------------------- explanations
def test_homoglyph_explanation_names_letter_position_and_script(engine):
    h = engine.check(host_of("аvito.ru"))[0]
    assert h.evidence == "аvito"
    assert h.detail["ru"] == "первая буква — кириллическая «а»"
    assert "Cyrillic" in h.detail["en"] and "first" in h.detail["en"]
    assert h.detail["chars"][0] == {"position": 1, "char": "а", "expected": "a", "script": "Cyrillic",
                                    "codepoint": "U+0430"}
    assert h.detail["official"] == "avito.ru"
    assert h.strength >= 0.9


@pytest.mark.parametrize("host,cls,ru_part", [
    ("avito-delivery.ru", "combo", "«delivery»"),
    ("avvito.ru", "repetition", "повторена"),
    ("avtio.ru", "transposition", "переставлены"),
    ("aito-pay.ru", None, None),
    ("avitp.ru", "keyboard", "соседняя клавиша"),
    ("avite.ru", "vowel-swap", "гласная"),
    ("avjto.ru", "visual", "похожая буква"),
    ("avhto.ru", "bitsquat", "бит"),
    ("0lx.pl", "lookalike", "цифра «0»"),
    ("youla.ru-receive.online", "subdomain", "ru-receive.online"),
    ("avito.xyz", "tld-swap", ".xyz"),
])
def test_explanations(engine, host, cls, ru_part):
    hits = engine.check(host_of(host))
    if cls is None:
        return
    h = hits[0]
    assert h.detail["class"] == cls, h.detail
    if ru_part:
        assert ru_part in h.detail["ru"], h.detail["ru"]


def test_olx_country_swap_names_the_matching_official_site(engine):
    assert engine.check(host_of("olx-ua.top"))[0].detail["official"] == "olx.ua"
    assert "olx.pl" in engine.check(host_of("olx-pl.top"))[0].detail["ru"]


def test_strength_order_and_weak_tokens(engine):
    hits = engine.check(host_of("avito-oplata.olx-pl.allegro-pay.com"))
    assert [h.strength for h in hits] == sorted((h.strength for h in hits), reverse=True)
    assert {h.brand.id for h in hits} == {"avito", "olx", "allegro"}
    strong = engine.check(host_of("аvito.ru"))[0].strength
    weak = engine.check(host_of("allegrohk.lol"))[0].strength
    assert strong > weak


# --------------------------------------------------------------------------------------------- paths
def test_brand_in_path(engine):
    hits = engine.check(host_of("safe.com"), "/avito.ru/pay")
    assert [(h.kind, h.brand.id, h.evidence) for h in hits] == [("brand_in_path", "avito", "avito.ru")]
    assert engine.check(host_of("safe.com"), "/avito-oplata/")[0].kind == "brand_in_path"
    assert engine.check(host_of("safe.com"), "/news/gravitonprofit") == []
    assert engine.check(host_of("avito.ru"), "/olx.pl/pay") == []  # official host: nothing
    assert engine.check(host_of("127.0.0.1"), "/avito.ru/")[0].kind == "brand_in_path"
    # path hits do not leak into the host cache
    assert engine.check(host_of("safe.com")) == []


def test_cache_is_transparent():
    eng = LookalikeEngine(BrandRegistry.default())
    a = eng.check(host_of("avito-pay.ru"))
    b = eng.check(host_of("avito-pay.ru"))
    assert a == b and a is not b
    a.clear()
    assert eng.check(host_of("avito-pay.ru")) == b


def test_skeleton_is_aligned():
    for s in ("аvitо", "ＡＶＩＴＯ", "a11egro", "wildłberries", "ozоn"):
        assert len(skeleton(s)) == len(s)
    assert skeleton("аvіtо") == "avito"


# ---------------------------------------------------------------------------------------- properties
_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-аеорсхуіолтх", min_size=1, max_size=20).filter(
    lambda s: not s.startswith("-") and not s.endswith("-") and "--" not in s)


@settings(max_examples=300, deadline=None)
@given(st.lists(_label, min_size=1, max_size=4), st.sampled_from(["com", "ru", "pl", "xyz", "com.ua", "рф"]),
       st.text(max_size=40))
def test_never_raises_and_hits_are_well_formed(engine, labels, suffix, path):
    info = host_of(".".join(labels + [suffix]))
    for h in engine.check(info, path):
        assert 0 < h.strength <= 1
        assert h.kind in KINDS
        assert h.evidence
        if h.kind != "brand_in_path":
            assert h.evidence in info.unicode or h.evidence in info.ascii


def _mutations(name: str):
    """Our own simple typo generator (dnstwist-style classes) for names of 5+ letters."""
    out = set()
    for i in range(len(name)):
        out.add(name[:i] + name[i] + name[i:])                # repetition
        if i < len(name) - 1:
            out.add(name[:i] + name[i + 1] + name[i] + name[i + 2:])  # transposition
    out.add(name + "s")                                       # addition
    out.add(name[:2] + "-" + name[2:])                        # hyphenation
    return out - {name}


@pytest.mark.parametrize("brand", ["avito", "allegro", "wildberries", "gosuslugi", "vinted", "kufar", "kaspi"])
def test_mutations_of_each_brand_are_flagged_and_officials_are_not(engine, brand):
    b = engine.registry.get(brand)
    label, suffix = b.main_domain.split(".", 1)
    for m in _mutations(label):
        hits = engine.check(host_of(f"{m}.{suffix}"))
        assert any(h.brand.id == brand for h in hits), m
    for d in b.official_domains:
        assert engine.check(host_of(d)) == []


# ------------------------------------------------------------------------------------------ dnstwist
REQUIRED_FUZZERS = ("homoglyph", "omission", "repetition", "transposition", "replacement", "insertion",
                    "addition", "hyphenation", "subdomain", "vowel-swap", "bitsquatting", "cyrillic")


def test_dnstwist_permutations(engine):
    dnstwist = pytest.importorskip("dnstwist", reason="dnstwist (test-only dependency) is not installed")
    total = caught = 0
    for brand in ("avito", "allegro", "vinted", "gosuslugi", "novaposhta"):
        b = engine.registry.get(brand)
        f = dnstwist.Fuzzer(b.main_domain)
        f.generate(fuzzers=list(REQUIRED_FUZZERS))
        for p in f.domains:
            if p["fuzzer"] not in REQUIRED_FUZZERS or not p["domain"]:
                continue
            info = host_of(p["domain"])
            if engine.registry.official_brand(info) is not None:
                continue
            total += 1
            caught += any(h.brand.id == brand for h in engine.check(info))
    assert total > 500
    assert caught / total >= 0.95, caught / total


# ----------------------------------------------------------------------------------------- real data
BRAND_RE = re.compile(r"(?<![a-z])(olx|allegro|vinted|inpost|dhl)")


def _column(path: Path, every: int):
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.DictReader(f, delimiter="\t")):
            if i % every == 0:
                yield row["domain"].strip().lower()


@needs_data
@pytest.mark.slow
def test_recall_on_certpl_brand_rows(engine):
    rows = [h for h in _column(DATA / "phishing" / "certpl_domains_2025.tsv.gz", 3) if BRAND_RE.search(h)]
    assert len(rows) > 8000
    caught = sum(1 for h in rows if engine.check(host_of(h)))
    assert caught / len(rows) >= 0.98, caught / len(rows)


@needs_data
@pytest.mark.slow
def test_false_positives_on_tranco_sample(engine):
    hosts = list(_column(DATA / "benign" / "tranco_top1m_20250115.tsv.gz", 13))
    assert len(hosts) > 75_000
    fps = [h for h in hosts if engine.check(host_of(h))]
    assert len(fps) / len(hosts) <= 0.0005, fps[:50]
