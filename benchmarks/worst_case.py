"""Worst cases for the per-message time budget: hand-made adversarial families and the fuzzers' slowest.

    .venv/bin/python benchmarks/worst_case.py            # every family, median of 5 scans each
    .venv/bin/python benchmarks/worst_case.py --repeat 9
    .venv/bin/python benchmarks/worst_case.py --cold                # models' per-word caches emptied first
    .venv/bin/python benchmarks/worst_case.py --scan-budget-ms 0    # no time budget: every stage runs

Each message family is scanned by a ``Scanner`` on the shipped rules with the link cache off (a
scammer sends fresh links), each page family goes through ``analyze_page`` and ``Scanner.scan_page``.
A message row names the degraded reasons its scan got (a cap that bit; ``time-budget``: what was skipped).
The slowest input each fuzz target met (``fuzz/slowest/<target>.bin``, written by ``fuzz/run.py``
under instrumentation) is re-timed here without it, through the target's own function and a whole scan.
The time printed is the median of ``--repeat`` runs; the verdict is against BUDGET_MS.
Exit status 1 when any input is over the budget.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from phishguard.scanner import Scanner
from phishguard.settings import Settings

BUDGET_MS = 50.0
KIB = 1024
SCRIPT = "Для получения оплаты введите номер карты, срок действия и cvv код на странице. "


def message_families() -> Iterator[tuple[str, str]]:
    """(name, message) of the hand-made adversarial messages."""
    for char, label in (("a", "letters"), (".", "dots"), ("1", "digits"), ("-", "hyphens"), ("@", "at signs"),
                        (":", "colons"), ("/", "slashes"), ("(", "brackets"), ("%", "percents"),
                        ("\u0301", "combining marks"), ("\u202e", "RTL overrides"), ("\x00", "NUL"),
                        ("а", "Cyrillic а"), ("\u2003", "em spaces")):
        yield f"64 KiB of {label}", char * (64 * KIB)
    yield "1 MB of one letter", "a" * 1_000_000
    yield "64 KiB of '1.'", "1." * (32 * KIB)
    yield "64 KiB of 'a-'", "a-" * (32 * KIB)
    yield "64 KiB of 'a.'", "a." * (32 * KIB)
    yield "64 KiB of 'a.b-'", "a.b-" * (16 * KIB)
    yield "64 KiB of defanged dots", "a[.]" * (16 * KIB)
    yield "64 KiB of ' . '", "a . " * (16 * KIB)
    yield "64 KiB of 'a.ru@'", "a.ru@" * (13 * KIB)
    yield "64 KiB of 'www.'", "www." * (16 * KIB)
    yield "64 KiB of 'https://'", "https://" * (8 * KIB)
    yield "64 KiB of 'hxxp[:]//'", "hxxp[:]//" * 7000
    yield "64 KiB of 'a.b.c.d.'", "a.b.c.d." * (8 * KIB)
    yield "split letters", "к а р т а " * 6000
    yield "deeply nested brackets", "(" * 30_000 + "https://avito.ru/x" + ")" * 30_000
    yield "10,000 URLs", " ".join(f"https://shop{i}.example.ru/p/{i}" for i in range(10_000))
    yield "10,000 schemeless hosts", " ".join(f"pay{i}.avito-deal.ru" for i in range(10_000))
    yield "6,000 e-mail addresses", " ".join(f"a{i}@b{i}.ru" for i in range(6000))
    yield "many IDN labels", ".".join(["аvito"] * 120) + ".рф"
    yield "5,000 IDN lookalike hosts", " ".join(f"аvito{i}.рф" for i in range(5000))
    yield "scam script x800", SCRIPT * 800
    yield "scam script + one 60,000-letter word", SCRIPT * 3 + "a" * 60_000
    yield "64 KiB of random words", _random_words(64 * KIB)
    yield "chat-sized scam message", "Здравствуйте! Покупатель оплатил, получите деньги: https://avito-pay.top/receive/8812"


def page_families() -> Iterator[tuple[str, str]]:
    """(name, html) of the hand-made adversarial pages."""
    form = '<form action="https://x.top/p"><label for=c>Номер карты</label><input id=c name=pan></form>'
    yield "5,000 forms", form * 5000
    yield "40,000 nested divs", "<div>" * 40_000 + "Номер карты" + "</div>" * 40_000
    yield "100,000 unclosed tags", "<a href=x " * 100_000
    yield "2 MB of text", "Баланс карты " * 160_000
    yield "200,000 em spaces", "\u2003" * 200_000
    yield "unterminated comment and script", "<!--" * 50_000 + "<script>" * 50_000
    yield "10,000 quoted attributes", "<input " + "a=\"'\" " * 10_000 + ">"


def _random_words(size: int) -> str:
    import random

    rnd = random.Random(7)
    letters = "абвгдежзийклмнопрстуфхцчшщыэюяabcdefghijklmnopqrstuvwxyz"
    words: list[str] = []
    total = 0
    while total < size:
        words.append("".join(rnd.choice(letters) for _ in range(rnd.randint(3, 9))))
        total += len(words[-1]) + 1
    return " ".join(words)[:size]


#: Called before each timed run (``--cold``: the models forget the words they have hashed).
BEFORE_RUN: list[Callable[[], object]] = []


def forget_words() -> None:
    """Empty the loaded models' per-word caches: the next scan hashes every word anew (a fresh scam)."""
    from phishguard.ruleset.model_matchers import loaded_models

    for model in loaded_models():
        model.clear_caches()


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` over ``repeat`` calls, in milliseconds (each after ``BEFORE_RUN``)."""
    times = []
    for _ in range(repeat):
        for before in BEFORE_RUN:
            before()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def fuzzer_inputs() -> Iterator[tuple[str, str, Callable[[], object], str | None]]:
    """(name, what, target call, message for a whole scan) of each fuzz target's slowest input."""
    folder = ROOT / "fuzz" / "slowest"
    try:
        from fuzz.targets import TARGETS, decode_text, page_input, request_input
    except ImportError as exc:  # atheris missing
        print(f"(fuzzers' slowest inputs skipped: {exc})")
        return
    for target, fn in TARGETS.items():
        path = folder / f"{target}.bin"
        if not path.exists():
            continue
        data = path.read_bytes()
        if target == "page":
            html, _ = page_input(data)
            yield f"fuzz {target} slowest", f"{len(html)} chars of HTML", lambda d=data, f=fn: f(d), None
            continue
        if target == "request":
            model, body = request_input(data)
            yield f"fuzz {target} slowest", f"{model.__name__}, {len(body)} bytes", lambda d=data, f=fn: f(d), None
            continue
        text = decode_text(data)[1]
        yield f"fuzz {target} slowest", f"{len(text)} chars", lambda d=data, f=fn: f(d), text


def _degraded(scanner: Scanner, text: str) -> str:
    """``; `` and the degraded reasons of one scan of ``text`` (time budget: what it skipped), if any."""
    found = [r.rule.removeprefix("degraded.") + (f": {r.evidence}" if r.rule.endswith("time-budget") else "")
             for r in scanner.scan(text).reasons if r.category == "degraded"]
    return f"; {', '.join(found)}" if found else ""


def _row(name: str, ms: float, note: str = "") -> bool:
    over = ms > BUDGET_MS
    print(f"{ms:9.2f} ms  {'OVER' if over else 'ok  '}  {name}{f'  ({note})' if note else ''}", flush=True)
    return over


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per input (the median is printed)")
    parser.add_argument("--max-text-bytes", type=int, default=None, help="limits.max_text_bytes (default: settings')")
    parser.add_argument("--max-urls", type=int, default=None, help="limits.max_urls (default: settings')")
    parser.add_argument("--scan-budget-ms", type=float, default=None,
                        help="limits.scan_budget_ms (default: settings'; 0: no budget, every stage runs)")
    parser.add_argument("--cold", action="store_true",
                        help="each run with the models' per-word caches emptied (fresh text; default: warm)")
    args = parser.parse_args(argv)
    if args.cold:
        BEFORE_RUN.append(forget_words)
    limits: dict[str, float] = {"url_cache_size": 0}
    if args.scan_budget_ms is not None:
        limits["scan_budget_ms"] = args.scan_budget_ms
    if args.max_text_bytes:
        limits["max_text_bytes"] = args.max_text_bytes
    if args.max_urls:
        limits["max_urls"] = args.max_urls
    scanner = Scanner(Settings(lang="en", limits=limits))
    scanner.scan(SCRIPT + " https://аvito.ru/pay")  # load models and caches first
    lim = scanner.settings.limits
    print(f"budget per message: {BUDGET_MS:.0f} ms (median of {args.repeat}; link cache off; "
          f"model word caches {'emptied before each run' if args.cold else 'warm'}; "
          f"max_text_bytes={lim.max_text_bytes}, max_urls={lim.max_urls}, "
          f"scan_budget_ms={lim.scan_budget_ms:g})\n")
    print("-- messages: Scanner.scan (the degraded reasons a scan got are named)")
    over = [name for name, text in message_families()
            if _row(name, median_ms(lambda t=text: scanner.scan(t), args.repeat),
                    f"{len(text)} chars{_degraded(scanner, text)}")]
    print("\n-- pages: Scanner.scan_page (analyze_page + page and link rules)")
    over += [name for name, html in page_families()
             if _row(name, median_ms(lambda h=html: scanner.scan_page(h, "https://avito-pay.top/p"), args.repeat),
                     f"{len(html)} chars")]
    print("\n-- fuzzers' slowest inputs (fuzz/slowest/): the target, then a whole scan of the same text")
    for name, what, call, text in fuzzer_inputs():
        if _row(name, median_ms(call, args.repeat), what):
            over.append(name)
        if text is not None and _row(f"{name}: Scanner.scan", median_ms(lambda t=text: scanner.scan(t), args.repeat)):
            over.append(f"{name}: Scanner.scan")
    print(f"\n{len(over)} input(s) over {BUDGET_MS:.0f} ms" + (": " + "; ".join(over) if over else ""))
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
