"""The page analyzer and page rules on the project's fixture pages (tests/data/pages) and on hostile HTML."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from phishguard.page.analyze import MAX_FIELDS, MAX_TAGS, analyze_page
from phishguard.page.matchers import field_kinds
from phishguard.ruleset.check import page_example_url

PAGES = Path(__file__).parent / "data" / "pages"
FAKES = sorted(PAGES.glob("fake_*.html"))
LEGIT = sorted(PAGES.glob("legit_*.html"))


def test_fixture_counts():
    assert len(FAKES) >= 10 and len(LEGIT) >= 10


@pytest.mark.parametrize("path", FAKES, ids=lambda p: p.stem)
def test_every_fake_page_is_fraud_with_page_reasons(scanner, path):
    html = path.read_text(encoding="utf-8")
    v = scanner.scan_page(html, page_example_url(html))
    page_reasons = [r for r in v.reasons if r.category == "payment_page"]
    assert v.verdict == "fraud" and page_reasons, [r.rule for r in v.reasons]
    assert all(r.evidence for r in page_reasons)


@pytest.mark.parametrize("path", LEGIT, ids=lambda p: p.stem)
def test_no_legitimate_page_is_flagged(scanner, path):
    html = path.read_text(encoding="utf-8")
    v = scanner.scan_page(html, page_example_url(html))
    assert v.verdict == "safe" and not [r for r in v.reasons if r.category == "payment_page"], v.reasons


def test_fakes_are_flagged_by_the_page_alone(scanner):
    """Analyzed under a neutral URL, every fake is still flagged: the page rules carry it."""
    for path in FAKES:
        v = scanner.scan_page(path.read_text(encoding="utf-8"), "https://neutral-host.example.com/x")
        assert v.flagged, path.name


def test_fields_labels_and_kinds():
    v = analyze_page((PAGES / "fake_avito_receive.html").read_text(encoding="utf-8"), "https://x.example.com/")
    assert [f.label for f in v.fields] == ["Номер карты", "Срок действия", "CVV/CVC", "Баланс карты"]
    assert set(field_kinds(v)) == {"number", "expiry", "cvc", "balance"}
    assert v.title.startswith("Авито") and v.site_name == "Авито" and v.logos
    assert v.forms[0].action == "https://x.example.com/api/receive"


def test_balance_evidence_is_the_label(scanner):
    v = scanner.scan_page((PAGES / "fake_boxberry.html").read_text(encoding="utf-8"), "https://boxberry-pay.site/r/3")
    r = next(r for r in v.reasons if r.rule == "page.balance-field")
    assert r.evidence == "Остаток на карте, ₽" and "баланс" in r.message["ru"]


def hostile_pages(size: int = 2_000_000) -> dict[str, str]:
    return {
        "deep nesting": "<div>" * (size // 5),
        "broken tags": "<a <b " * (size // 6),
        "lone brackets": "<" * size,
        "huge attribute": '<input value="' + "x" * size + '">',
        "unclosed quote": '<input a="' * (size // 10),
        "unclosed comment": "<!--" + "x" * size,
        "many inputs": '<input name="card">' * (size // 19),
        "many forms": "<form action=/x>" * (size // 16),
        "entities": "&amp;" * (size // 5),
        "text": "Номер карты " * (size // 12),
    }


@pytest.mark.parametrize("name", list(hostile_pages(10)))
def test_hostile_html_is_bounded(name):
    """2 MB of hostile HTML: the analyzer cuts at its structural limits and stays fast (generous bound;
    benchmarks/page_analyze_speed.py prints the real figures, < 200 ms each)."""
    html = hostile_pages()[name]
    t0 = time.perf_counter()
    v = analyze_page(html, "https://x.example.com/")
    _ = v.norm
    elapsed = time.perf_counter() - t0
    assert len(v.fields) <= MAX_FIELDS
    assert elapsed < 2.0, f"{name}: {elapsed * 1000:.0f} ms"
    if html.count("<") > MAX_TAGS:
        assert "truncated" in v.signals


def test_truncated_page_gives_a_degraded_reason(scanner):
    v = scanner.scan_page("<div>" * (MAX_TAGS + 10), "https://x.example.com/")
    assert [r.rule for r in v.reasons] == ["page.truncated"] and v.verdict == "safe"


@pytest.mark.parametrize("junk", ["", "\x00\ud800<", "<<<>>>", "<input name=", "<form action='http://[::1'>"])
def test_analyzer_never_raises(scanner, junk):
    scanner.scan_page(junk, "https://x.example.com/")
    scanner.scan_page("<p>x</p>", junk or "not a url")


def test_scripts_and_comments_are_not_the_page():
    v = analyze_page("<script>document.write('<input name=cvv>')</script><!-- <input name=balance> -->", "https://x.com/")
    assert v.fields == () and v.text == ""
