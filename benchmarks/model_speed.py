"""Speed of the shipped models and of the whole scanner with them (issue #6 targets), one core.

Prints: text model messages/s in batches of 1,000 and p50/p99 for one message; the cost of the explanation
words (``LinearModel.explain``) of the messages the model calls scams, from a batch's rows and for one
message alone; the same for the URL model; the whole scanner (rules + URLs + models, the shipped settings) in ``scan_many`` batches and per
message, beside the scanner without the model rules; CLI start-up (``phishguard --help`` and a first
scan, median of 3 runs); whether scikit-learn gets imported by scanning (it must not).

Times are CPU time of this process (``time.process_time``), rates the median of several rounds: the
development machine is shared, and wall-clock figures there measure the neighbours as much as the code.
The one-message wall-clock p99 is printed too. Caches are warm (a service has seen the words before);
the whole scanner's first, cold pass over the corpus is printed apart.

Run: ``.venv/bin/python benchmarks/model_speed.py`` (uses tests/data/chat_corpus/*.tsv as messages).
"""

from __future__ import annotations

import csv
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:
    from phishguard.classifier.serve import LinearModel

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
MODEL_RULES = ("model.text-scam", "model.text-spam", "model.url")


def messages() -> list[str]:
    out = []
    for p in sorted((ROOT / "tests" / "data" / "chat_corpus").glob("*.tsv")):
        with p.open(encoding="utf-8", newline="") as f:
            out += [r["text"] for r in csv.DictReader(f, delimiter="\t")]
    return out


def rate(n: int, run: Callable[[], object], rounds: int = 5) -> float:
    """Median messages per CPU second of ``rounds`` runs of ``run`` over ``n`` messages."""
    rates = []
    for _ in range(rounds):
        t = time.process_time()
        run()
        rates.append(n / (time.process_time() - t))
    return statistics.median(rates)


def latency(items: Sequence[T], one: Callable[[T], object]) -> str:
    """CPU-time p50/p99 of ``one`` per item, and the wall-clock p99."""
    cpu, wall = [], []
    for x in items:
        t, w = time.process_time(), time.perf_counter()
        one(x)
        cpu.append(time.process_time() - t)
        wall.append(time.perf_counter() - w)
    c, w = np.array(cpu) * 1e6, np.array(wall) * 1e6
    return f"p50 {np.percentile(c, 50):.0f} µs, p99 {np.percentile(c, 99):.0f} µs CPU (wall p99 {np.percentile(w, 99):.0f} µs)"


def batches(fn: Callable[[list[str]], object], items: list[str], size: int = 1000) -> Callable[[], None]:
    return lambda: [fn(items[i:i + size]) for i in range(0, len(items), size)]


def explain_speed(text: LinearModel, docs: list[str]) -> None:
    """CPU cost of the explanation words of the messages scored as scams (score >= 0.5): per explained message
    from each batch's own rows, and p50/p99 for one message (its 1-row matrix; scoring excluded)."""
    chunks = [docs[i:i + 1000] for i in range(0, len(docs), 1000)]
    ready = [(s, np.flatnonzero(s.proba[:, text.classes.index("scam")] >= 0.5).tolist())
             for s in (text.scored(c) for c in chunks)]
    n = sum(len(rows) for _, rows in ready)
    r = rate(n, lambda: [text.explain(s, rows, "scam", 3) for s, rows in ready])
    print(f"explanation words, from the batch's rows: {1e6 / r:.1f} µs per explained message ({n} of {len(docs)})")
    alone = [text.scored([docs[i + 1000 * j]]) for j, (_, rows) in enumerate(ready) for i in rows][:1000]
    print(f"explanation words, one message alone: {latency(alone, lambda s: text.explain(s, [0], 'scam', 3))}")


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from phishguard.classifier.features import host_document, text_document
    from phishguard.classifier.serve import load_numpy_model
    from phishguard.scanner import Scanner
    from phishguard.settings import load_settings

    msgs = messages()
    docs = [text_document(t) for t in msgs]
    text = load_numpy_model(ROOT / "models" / "text.json")
    text.predict_proba(docs)  # warm the n-gram cache as a running service would be
    print(f"messages: {len(msgs)} (tests/data/chat_corpus/*.tsv); times are CPU time, rates medians")
    r = rate(len(docs), batches(text.predict_proba, docs))
    print(f"text model, batches of 1000: {r:,.0f} msgs/s  (target >= 10,000)")
    print(f"text model, one message: {latency(docs[:3000], lambda d: text.predict_proba([d]))}  (target p99 <= 300 µs)")
    explain_speed(text, docs)

    url = load_numpy_model(ROOT / "models" / "url.json")
    hosts = [host_document(h) for h in ("olx-pl.oferta-1.xyz", "avito.ru", "github.com", "allegro.pl-x7.top")] * 250
    print(f"url model, one host: {latency(hosts, lambda h: url.predict_proba([h]))}")

    s = Scanner(load_settings(None, lang="en"))
    on = all(r in {x.id for x in s.ruleset.rules} for r in MODEL_RULES)
    t = time.process_time()
    s.scan_many(msgs)
    cold = len(msgs) / (time.process_time() - t)
    r = rate(len(msgs), lambda: s.scan_many(msgs), rounds=3)
    print(f"whole scanner (rules + URLs + models; model rules on: {on}), scan_many: {r:,.0f} msgs/s"
          f"  (target >= 8,000; first cold pass {cold:,.0f})")
    print(f"whole scanner, one message: {latency(msgs[:3000], s.scan)}  (target p99 <= 1 ms)")
    off = Scanner(load_settings(None, lang="en", rule_overrides={r: {"enabled": False} for r in MODEL_RULES}))
    off.scan_many(msgs)
    print(f"scanner without the model rules, scan_many: {rate(len(msgs), lambda: off.scan_many(msgs), rounds=3):,.0f} msgs/s")
    print(f"scikit-learn imported by scanning: {'sklearn' in sys.modules}")

    exe = [sys.executable, "-m", "phishguard"]
    for args in (["--help"], ["scan", "Здравствуйте, камера ещё продаётся?"]):
        walls = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run(exe + args, capture_output=True, cwd=ROOT)
            walls.append(time.perf_counter() - t)
        print(f"CLI {' '.join(args)[:20]!r}: {statistics.median(walls):.2f} s wall, median of 3 (min {min(walls):.2f})"
              f"  (target ready <= 0.5 s; load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
