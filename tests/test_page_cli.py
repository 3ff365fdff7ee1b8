"""``phishguard page FILE --url URL``: verdicts and exit codes like ``scan``."""

from __future__ import annotations

import json
from pathlib import Path

from phishguard.cli import main

PAGES = Path(__file__).parent / "data" / "pages"


def test_fake_page_exits_1_with_json(capsys):
    code = main(["page", str(PAGES / "fake_boxberry.html"), "--url", "https://boxberry-pay.site/r/3", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["verdict"] == "fraud"
    assert "page.balance-field" in [r["rule"] for r in out["reasons"]]


def test_legit_page_exits_0(capsys):
    code = main(["page", str(PAGES / "legit_shop_checkout.html"), "--url", "https://velomir-shop.ru/checkout", "--lang", "ru"])
    assert code == 0 and "Признаков мошенничества не найдено" in capsys.readouterr().out


def test_missing_file_exits_2(capsys):
    code = main(["page", str(PAGES / "nope.html"), "--url", "https://x.example.com/"])
    assert code == 2 and "cannot read" in capsys.readouterr().err
