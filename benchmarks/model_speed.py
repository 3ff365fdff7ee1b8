"""Speed of the shipped models and of the whole scanner with them (issue #6 targets), one core.

Prints: text model messages/s in batches of 1,000 and p50/p99 for one message; the same for the URL
model; the whole scanner (rules + URLs + models) per message; CLI start-up (``phishguard --help`` and a
first scan); whether scikit-learn gets imported by scanning (it must not).

Run: ``.venv/bin/python benchmarks/model_speed.py`` (uses tests/data/chat_corpus/*.tsv as messages).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def messages() -> list[str]:
    out = []
    for p in sorted((ROOT / "tests" / "data" / "chat_corpus").glob("*.tsv")):
        with p.open(encoding="utf-8", newline="") as f:
            out += [r["text"] for r in csv.DictReader(f, delimiter="\t")]
    return out


def pct(lat: list[float]) -> str:
    a = np.array(lat) * 1e6
    return f"p50 {np.percentile(a, 50):.0f} µs, p99 {np.percentile(a, 99):.0f} µs"


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
    t0 = time.perf_counter()
    rounds = 5
    for _ in range(rounds):
        for i in range(0, len(docs), 1000):
            text.predict_proba(docs[i:i + 1000])
    dt = time.perf_counter() - t0
    print(f"text model, batches of 1000: {rounds * len(docs) / dt:,.0f} msgs/s  (target >= 10,000)")
    lat = []
    for d in docs[:3000]:
        t = time.perf_counter()
        text.predict_proba([d])
        lat.append(time.perf_counter() - t)
    print(f"text model, one message: {pct(lat)}  (target p99 <= 300 µs)")

    url = load_numpy_model(ROOT / "models" / "url.json")
    hosts = [host_document(h) for h in ("olx-pl.oferta-1.xyz", "avito.ru", "github.com", "allegro.pl-x7.top")] * 250
    lat = []
    for h in hosts:
        t = time.perf_counter()
        url.predict_proba([h])
        lat.append(time.perf_counter() - t)
    print(f"url model, one host: {pct(lat)}")

    on = {r: {"enabled": True} for r in ("model.text-scam", "model.text-spam", "model.url")}
    s = Scanner(load_settings(None, lang="en", rule_overrides=on))  # the model rules ship disabled
    s.scan_many(msgs[:200])
    t0 = time.perf_counter()
    s.scan_many(msgs)
    dt = time.perf_counter() - t0
    print(f"whole scanner (rules + URLs + models), batch: {len(msgs) / dt:,.0f} msgs/s  (target >= 8,000)")
    lat = []
    for m in msgs[:3000]:
        t = time.perf_counter()
        s.scan(m)
        lat.append(time.perf_counter() - t)
    print(f"whole scanner, one message: {pct(lat)}  (target p99 <= 1 ms)")
    print(f"scikit-learn imported by scanning: {'sklearn' in sys.modules}")

    exe = [sys.executable, "-m", "phishguard"]
    for args in (["--help"], ["scan", "Здравствуйте, камера ещё продаётся?"]):
        t = time.perf_counter()
        subprocess.run(exe + args, capture_output=True, cwd=ROOT)
        print(f"CLI {' '.join(args)[:20]!r}: {time.perf_counter() - t:.2f} s  (target ready <= 0.5 s)")


if __name__ == "__main__":
    main()
