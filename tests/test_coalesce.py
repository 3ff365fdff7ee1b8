"""Single scans arriving together: prepared together, answered one by one, each verdict the one ``scan`` gives."""

from __future__ import annotations

import asyncio

import pytest

from phishguard.scanner import Scanner
from phishguard.service.app import STATE, create_app
from phishguard.service.coalesce import Coalescer
from phishguard.settings import Settings

MESSAGES = [
    "Получите оплату: https://аvito.ru/pay/123",
    "Здравствуйте, ещё продаёте велосипед? Могу забрать завтра",
    "Обратите внимание: на балансе карты должна быть сумма не меньше стоимости товара",
    "Your buyer paid via Safe Deal, receive the money here https://olx-pl.deliverysafe-pay.shop/receive",
    "Можно фото с другой стороны? https://www.avito.ru/moskva/velosipedy/123",
    "пришлите код из смс для подтверждения доставки сдэк",
    "",
    "ok",
]


def _comparable(verdict: dict) -> dict:
    return {k: v for k, v in verdict.items() if k != "elapsed_ms"}


async def test_concurrent_single_scans_get_the_verdicts_scan_alone_gives(aiohttp_client, scanner: Scanner):
    client = await aiohttp_client(create_app(Settings(lang="en"), scanner=scanner))
    bodies = [
        {"text": f"{MESSAGES[i % len(MESSAGES)]} {i // len(MESSAGES)}", "id": f"m{i}",
         "context": {"chat_id": f"c{i % 7}"}, "lang": ("ru", "en", None)[i % 3]}
        for i in range(240)
    ]  # fmt: skip

    async def post(body: dict) -> dict:
        resp = await client.post("/v1/scan", json={k: v for k, v in body.items() if v is not None})
        assert resp.status == 200
        return await resp.json()

    answers = await asyncio.gather(*(post(b) for b in bodies))
    for body, answer in zip(bodies, answers):
        alone = scanner.scan(body["text"], id=body["id"], context=body["context"], lang=body["lang"]).to_dict()
        assert _comparable(answer) == _comparable(alone), body
    assert {a["verdict"] for a in answers} == {"safe", "suspicious", "fraud"}
    coalescer = client.app[STATE].coalescer
    assert coalescer.scanned == 240 and coalescer.groups < 240  # some were prepared together


class _Recorder:
    """A scanner stand-in that logs its calls; ``scan`` of ``boom`` raises, ``prepare`` raises when told."""

    def __init__(self, log: list[tuple[str, str]], prepare_fails: bool = False):
        self.log, self.prepare_fails = log, prepare_fails
        self.real = None

    def prepare(self, texts):
        texts = list(texts)
        self.log.append(("prepare", ",".join(texts)))
        if self.prepare_fails:
            raise RuntimeError("prepare failed")
        return object()

    def using(self, prepared):
        import contextlib

        return contextlib.nullcontext()

    def scan(self, text, *, id=None, context=None, lang=None):
        self.log.append(("scan", text))
        if text == "boom":
            raise ValueError("boom")
        return f"verdict of {text}"


async def _ask(coalescer: Coalescer, scanner, text: str, log: list) -> str:
    try:
        verdict = await coalescer.scan(scanner, text)
    except ValueError:
        log.append(("failed", text))
        return "failed"
    log.append(("answered", text))
    return verdict


async def test_each_request_is_answered_before_the_next_of_its_group_is_scanned():
    log: list[tuple[str, str]] = []
    scanner, coalescer = _Recorder(log), Coalescer()
    results = await asyncio.gather(*(_ask(coalescer, scanner, t, log) for t in ("a", "b", "c")))
    assert results == ["verdict of a", "verdict of b", "verdict of c"]
    assert log == [
        ("prepare", "a,b,c"),  # one vectorized preparation for the group
        ("scan", "a"), ("answered", "a"),
        ("scan", "b"), ("answered", "b"),
        ("scan", "c"), ("answered", "c"),
    ]  # fmt: skip
    assert (coalescer.groups, coalescer.scanned) == (1, 3)


async def test_a_request_that_arrives_alone_is_scanned_without_a_preparation():
    log: list[tuple[str, str]] = []
    scanner, coalescer = _Recorder(log), Coalescer()
    assert await _ask(coalescer, scanner, "a", log) == "verdict of a"
    assert await _ask(coalescer, scanner, "b", log) == "verdict of b"
    assert log == [("scan", "a"), ("answered", "a"), ("scan", "b"), ("answered", "b")]
    assert (coalescer.groups, coalescer.scanned) == (2, 2)


async def test_groups_are_bounded_and_arrivals_during_a_group_form_the_next():
    log: list[tuple[str, str]] = []
    scanner, coalescer = _Recorder(log), Coalescer(max_group=2)
    first = [asyncio.ensure_future(_ask(coalescer, scanner, t, log)) for t in ("a", "b", "c")]
    await asyncio.sleep(0)  # the handlers queue their messages
    await asyncio.sleep(0)  # the first step: group (a, b) prepared, a scanned
    late = asyncio.ensure_future(_ask(coalescer, scanner, "d", log))
    await asyncio.gather(*first, late)
    assert [entry for entry in log if entry[0] == "prepare"] == [("prepare", "a,b"), ("prepare", "c,d")]
    assert [text for what, text in log if what == "scan"] == ["a", "b", "c", "d"]  # in the order they came


async def test_a_failing_scan_fails_its_own_request_only():
    log: list[tuple[str, str]] = []
    scanner, coalescer = _Recorder(log), Coalescer()
    results = await asyncio.gather(*(_ask(coalescer, scanner, t, log) for t in ("a", "boom", "c")))
    assert results == ["verdict of a", "failed", "verdict of c"]


async def test_a_failing_preparation_falls_back_to_scanning_each_alone():
    log: list[tuple[str, str]] = []
    scanner, coalescer = _Recorder(log, prepare_fails=True), Coalescer()
    results = await asyncio.gather(*(_ask(coalescer, scanner, t, log) for t in ("a", "b")))
    assert results == ["verdict of a", "verdict of b"]


async def test_a_cancelled_request_is_not_scanned():
    log: list[tuple[str, str]] = []
    scanner, coalescer = _Recorder(log), Coalescer()
    tasks = [asyncio.ensure_future(_ask(coalescer, scanner, t, log)) for t in ("a", "b", "c")]
    await asyncio.sleep(0)  # queued
    tasks[1].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert [text for what, text in log if what == "scan"] == ["a", "c"]


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_scanning_inside_a_preparation_gives_the_verdicts_of_scan_alone(scanner: Scanner, lang: str):
    texts = [f"{m} {i}" for i, m in enumerate(MESSAGES * 3)]
    prepared = scanner.prepare(texts)
    for text in texts:
        with scanner.using(prepared):
            inside = scanner.scan(text, lang=lang).to_dict()
        assert _comparable(inside) == _comparable(scanner.scan(text, lang=lang).to_dict())
