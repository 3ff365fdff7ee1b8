"""The text model on one message: the batch path with a batch of one (numpy) against ``proba_one`` (plain
Python over per-word partial sums), with warm caches and with the CPU caches flushed before each message.

Usage: python benchmarks/model_one.py [--messages N] [--flush-mb MB]

A service worker meets a request that arrives alone with cold caches: between two requests, other processes
(and, on a shared host, other machines) have used the core. "Flushed" approximates that by sweeping a buffer
larger than the last-level cache before each message; only the scoring is timed. Prints µs per message, the
largest difference between the two paths' probabilities, and the machine. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the scanning commands run

from http_load import machine  # noqa: E402
from scan_throughput import make_messages  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=500)
    ap.add_argument("--flush-mb", type=int, default=64, help="buffer swept before each message (flushed runs)")
    args = ap.parse_args()

    import numpy as np

    from phishguard.normalize import normalize_text
    from phishguard.ruleset.model_matchers import loaded_models
    from phishguard.scanner import Scanner

    Scanner().warm_up()  # loads the models
    model = next(m for m in loaded_models() if m.version.startswith("text"))
    docs = [normalize_text(t).text[:1000] for t in make_messages(args.messages)]
    for d in docs:  # fill the per-word caches: a worker's steady state
        model.proba_one(d)
        model.scored([d])
    diff = max(float(np.abs(np.array(model.proba_one(d)) - model.scored([d]).proba[0]).max()) for d in docs)
    junk = np.ones(args.flush_mb * 1024 * 1024 // 8)

    def per_message(score, flush: bool) -> float:
        total = 0.0
        for d in docs:
            if flush:
                junk[::8] += 1.0  # touch every cache line of the buffer
            t0 = time.perf_counter()
            score(d)
            total += time.perf_counter() - t0
        return total / len(docs) * 1e6

    paths = {"batch of one (numpy)": lambda d: model.scored([d]), "proba_one (plain Python)": model.proba_one}
    print(f"machine: {machine()}")
    print(f"{len(docs)} messages of the chat mix; largest probability difference between the paths: {diff:.1e}")
    for name, score in paths.items():
        warm = min(per_message(score, False) for _ in range(3))
        flushed = min(per_message(score, True) for _ in range(3))
        print(f"  {name:26} warm {warm:6.1f} µs per message, caches flushed {flushed:6.1f} µs per message")


if __name__ == "__main__":
    main()
