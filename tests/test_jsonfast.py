"""The hot-path JSON encoder writes what the stdlib encoder writes (orjson where it can, the stdlib where not)."""

from __future__ import annotations

import json

import pytest

from phishguard.jsonfast import dumpb, dumps
from phishguard.scanner import Scanner

_std = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def test_verdicts_encode_as_the_stdlib_does(scanner: Scanner):
    texts = ["Получите оплату: https://аvito.ru/pay/123", "камера ещё продаётся?", "CVV и баланс карты 💳"]
    for text in texts:
        verdict = scanner.scan(text, id="m-1", context={"chat_id": "c", "n": 3}).to_dict()
        assert dumps(verdict) == _std(verdict)
        assert dumpb(verdict) == _std(verdict).encode("utf-8")


@pytest.mark.parametrize(
    "value",
    [
        {"id": 2**70, "context": {"big": -(2**80)}},  # beyond 64 bits: orjson refuses, the stdlib writes it
        {1: "non-string key", None: 2},
        {"nested": [[{"ё": "ё"}]], "f": 0.1, "t": True},
    ],
)
def test_what_orjson_refuses_falls_back_to_the_same_output(value):
    assert dumps(value) == _std(value)
    assert dumpb(value) == _std(value).encode("utf-8")


def test_lone_surrogates_fail_as_with_the_stdlib():
    assert dumps({"t": "\ud800"}) == _std({"t": "\ud800"})  # text: written as the stdlib writes it
    with pytest.raises(UnicodeEncodeError):
        dumpb({"t": "\ud800"})  # bytes: not UTF-8, as before
