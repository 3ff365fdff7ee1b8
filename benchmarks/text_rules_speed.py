"""Speed of all text rules together, in microseconds per ~200-character message.

Run: ``.venv/bin/python benchmarks/text_rules_speed.py``. Budget (issue #4): <= 30 us per message on one
core for all text rules, normalization excluded (the scanner normalizes once for every consumer); the
figure with normalization is printed too. Reference machine: 2-core sandbox (AMD EPYC, Python 3.11).

Message sets, each cut or joined to ~200 characters (whole words):

- legit:  the ordinary-talk half of tests/data/chat_corpus (what most traffic looks like);
- scam:   the scam half (every message holds anchor words, so rules run their proximity search);
- real:   ham of ../shared/data/text/stankin_chat.tsv.gz, when that folder is present.

The per-word memo is warmed first, as in a long-running scanner; the cold figure (a fresh memo for
each pass, so every distinct word is looked up once) is printed for the legit set. Times are CPU time
of this process (``time.process_time``, best of 7 passes), so other jobs sharing the machine inflate
them less than wall-clock time would.
"""

from __future__ import annotations

import csv
import gzip
import platform
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from phishguard.normalize import normalize_text
from phishguard.ruleset import MessageView
from phishguard.ruleset.engine import run_text_rules
from phishguard.ruleset.text_matchers import WORDS
from phishguard.scanner import Scanner
from phishguard.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "chat_corpus"
REAL = ROOT.parent / "shared" / "data" / "text" / "stankin_chat.tsv.gz"


def read_texts(path: Path, label: str | None = None) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        return [r["text"] for r in csv.DictReader(f, delimiter="\t") if label is None or r["label"] == label]


def to_200(texts: list[str], limit: int = 2000) -> list[str]:
    """Messages joined (in a fixed shuffled order) and cut to about 200 characters."""
    out, buf = [], ""
    for i in range(limit * 20):
        buf = f"{buf} {texts[(i * 7919) % len(texts)]}".strip()
        if len(buf) >= 200:
            out.append(buf[:200].rsplit(" ", 1)[0])
            buf = ""
            if len(out) == limit:
                break
    return out


def best_us(fn: Callable[[str], object], items: Iterable[str], repeat: int = 7, before: Callable[[], None] | None = None) -> float:
    items = list(items)
    best = float("inf")
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = time.process_time()
        for x in items:
            fn(x)
        best = min(best, time.process_time() - t0)
    return best / len(items) * 1e6


def main() -> None:
    ruleset = Scanner(Settings()).ruleset
    rules = ruleset.text_rules
    sets = {"legit": to_200(read_texts(CORPUS / "legit.tsv")), "scam": to_200(read_texts(CORPUS / "scam.tsv"))}
    if REAL.exists():
        sets["real"] = to_200(read_texts(REAL, "ham"))
    print(f"text rules on {platform.python_implementation()} {platform.python_version()}, {platform.machine()} "
          f"(reference: 2-core sandbox), one thread")
    print(f"{len(rules)} text rules ({sum(r.doc.matcher_name == 'near' for r in rules)} 'near'); "
          f"budget 30 us per message for the rules")
    norms: dict[str, object] = {}
    for name, msgs in sets.items():
        norms.update((t, normalize_text(t)) for t in msgs)
        for t in msgs:  # warm the word memo
            run_text_rules(ruleset, MessageView(t, norms[t]))  # type: ignore[arg-type]
    for name, msgs in sets.items():
        rules_us = best_us(lambda t: run_text_rules(ruleset, MessageView(t, norms[t])), msgs)  # type: ignore[arg-type]
        total_us = best_us(lambda t: run_text_rules(ruleset, MessageView(t, normalize_text(t))), msgs)
        hit = sum(bool(run_text_rules(ruleset, MessageView(t, norms[t]))) for t in msgs)  # type: ignore[arg-type]
        print(f"  {name:5} {len(msgs):5} msgs, mean {sum(map(len, msgs)) / len(msgs):3.0f} chars: "
              f"rules {rules_us:6.1f} us/msg, normalize + rules {total_us:6.1f} us/msg, "
              f"with a finding {hit / len(msgs):4.0%}")
    cold = best_us(lambda t: run_text_rules(ruleset, MessageView(t, norms[t])), sets["legit"],  # type: ignore[arg-type]
                   before=WORDS.memo.clear)
    print(f"  legit, cold word memo each pass: rules {cold:6.1f} us/msg")


if __name__ == "__main__":
    main()
