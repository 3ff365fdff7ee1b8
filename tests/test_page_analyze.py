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


def test_support_widgets_are_found_in_scripts_blocks_and_captions():
    v = analyze_page((PAGES / "fake_cdek_support_widget.html").read_text(encoding="utf-8"), "https://x.example.com/")
    assert v.widgets == ("tawk.to", "chat block", "«Онлайн-консультант»")
    v = analyze_page('<script src="https://code.jivosite.com/widget/a"></script><p>Служба поддержки: 8 800</p>', "https://x.com/")
    assert v.widgets == ("jivosite",) and v.text == "Служба поддержки: 8 800"
    assert analyze_page("<p>Наш чат работает круглосуточно.</p>", "https://x.com/").widgets == ()


def test_forms_measure_their_text_and_links():
    v = analyze_page('<a href="/a">A</a><p>Intro text</p><form action="/p"><label>Card number</label><input name="pan">'
                     '<a href="https://other.com/help">help</a></form><a href="#top">up</a>', "https://shop.com/x")
    assert v.main_form == 0 and v.forms[0].text == len("Card number\nhelp")
    assert [(x.href, x.text, x.form) for x in v.links] == [
        ("https://shop.com/a", "A", None), ("https://other.com/help", "help", 0), ("https://shop.com/x#top", "up", None)]
    unclosed = analyze_page("<form><input name=a><form><input name=b><input name=c>", "https://x.com/")
    assert [f.fields for f in unclosed.forms] == [1, 2] and unclosed.main_form == 1


@pytest.mark.parametrize(("page", "rule"), [
    ("fake_cdek_support_widget", "page.support-widget-card-form"),
    ("fake_support_chat", "page.support-widget-card-form"),
    ("fake_thin_shell", "page.single-form-shell"),
    ("fake_masked", "page.single-form-shell"),
    ("fake_avito_receive_landing", "page.receive-money-button"),
])
def test_new_page_features_fire_on_their_fixtures(scanner, page, rule):
    html = (PAGES / f"{page}.html").read_text(encoding="utf-8")
    v = scanner.scan_page(html, page_example_url(html))
    r = next((r for r in v.reasons if r.rule == rule), None)
    assert r is not None and r.evidence and r.message["ru"] and r.message["en"], [r.rule for r in v.reasons]


def test_receive_button_alone_is_at_most_suspicious(scanner):
    """Under a neutral URL (no lookalike domain) the landing page is suspicious: the button is a first step."""
    v = scanner.scan_page((PAGES / "fake_avito_receive_landing.html").read_text(encoding="utf-8"),
                          "https://neutral-host.example.com/x")
    assert v.verdict == "suspicious" and [r.rule for r in v.reasons] == ["page.receive-money-button"]
    assert "«Получить деньги»" in v.reasons[0].message["ru"]


def test_shop_names_itself_and_is_no_shell(scanner):
    html = (PAGES / "legit_shop_checkout.html").read_text(encoding="utf-8")
    # the same checkout under a host that does not carry the shop's name is a bare card form
    v = scanner.scan_page(html, "https://pay-secure-24.example.com/checkout")
    assert "page.single-form-shell" in [r.rule for r in v.reasons] and v.verdict == "safe"
