"""CI smoke of the fuzz targets (fuzz/targets.py): every target over its committed corpus, then over
a few thousand inputs mutated from it by a seeded (reproducible) mutator.

The long coverage-guided runs are ``fuzz/run.py`` (atheris/libFuzzer); this only guards against a
change that breaks what the fuzzers already explored. Needs atheris (the targets decode their bytes
with its ``FuzzedDataProvider``).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip(
    "atheris", reason="atheris is not installed (pip install atheris): the fuzz targets decode input with it"
)

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fuzz.run import CORPUS, MAX_LEN, TARGET_NAMES
from fuzz.seeds import SEEDS
from fuzz.targets import TARGETS

MUTANTS = 1500  # per target
#: Byte strings the mutator splices in: the shapes the targets care about.
TOKENS = (b"://", b"hxxp", b"[.]", b"@", b":", b"/", b"%", b"\x00", b"\xff\xfe", b"\x2e\x30", b"\x0e\x20",
          b"<input ", b"<form action=", b"</label>", b"<!--", b"<script>", b'{"text":', b'"\\ud800"', b"[[[[",
          b"xn--", b".ru", b"\xd0\xb0", b"0x7f")


def corpus(target: str) -> list[bytes]:
    """The committed corpus of ``target`` (plus its seeds, so the test works on a fresh checkout)."""
    folder = CORPUS / target
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    return [*SEEDS[target], *(p.read_bytes() for p in files)]


def mutate(rnd: random.Random, data: bytes, other: bytes, max_len: int) -> bytes:
    """One to four random edits: flip, insert a token, duplicate, cut, or splice with ``other``."""
    buf = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        pos = rnd.randint(0, len(buf))
        kind = rnd.randrange(5)
        if kind == 0 and buf:
            buf[min(pos, len(buf) - 1)] ^= 1 << rnd.randrange(8)
        elif kind == 1:
            buf[pos:pos] = rnd.choice(TOKENS) * rnd.choice((1, 1, 2, 50))
        elif kind == 2:
            buf[pos:pos] = buf[pos:pos + rnd.randint(1, 64)] * rnd.randint(2, 20)
        elif kind == 3:
            del buf[pos:pos + rnd.randint(1, 32)]
        else:
            buf[pos:] = other[rnd.randint(0, len(other)):]
    return bytes(buf[:max_len])


def generated(target: str, count: int, seed: int = 9) -> list[bytes]:
    pool = corpus(target)
    rnd = random.Random(f"{seed}-{target}")
    return [mutate(rnd, rnd.choice(pool), rnd.choice(pool), MAX_LEN[target]) for _ in range(count)]


def _run_all(fn: Callable[[bytes], None], inputs: list[bytes]) -> None:
    for data in inputs:
        try:
            fn(data)
        except Exception as exc:  # name the input: it reproduces with fuzz/targets.py
            raise AssertionError(f"{fn.__name__} failed on {data!r}") from exc


@pytest.mark.parametrize("target", TARGET_NAMES)
def test_target_over_its_corpus(target: str) -> None:
    _run_all(TARGETS[target], corpus(target))


@pytest.mark.parametrize("target", TARGET_NAMES)
def test_target_over_mutated_inputs(target: str) -> None:
    _run_all(TARGETS[target], generated(target, MUTANTS))


def test_every_target_has_a_corpus() -> None:
    assert set(TARGETS) == set(TARGET_NAMES)
    for target in TARGET_NAMES:
        assert (CORPUS / target).is_dir() and any((CORPUS / target).iterdir()), target
