"""Quality of the text rules alone (no links, no models): recall and false positives.

Run: ``.venv/bin/python benchmarks/text_rules_quality.py [--misses] [--without-models]``.

- the project's chat corpus (tests/data/chat_corpus): recall on scam, false positives on legit, per
  scenario and language, and again after deterministic obfuscation (tests/test_text_corpus.py); the
  rules were tuned on scam.tsv/legit.tsv, so holdout.tsv — written after they were frozen — gives the
  honest estimate;
- real chat from ../shared/data/text (when present): the share of ham flagged (target <= 0.1%), and
  how much spam the text rules flag (spam is not their job; none may come out ``fraud``).

A message is flagged when the text rules' findings combine to ``suspicious`` or ``fraud``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import random
import sys
from collections import defaultdict
from pathlib import Path

from phishguard.normalize import normalize_text
from phishguard.ruleset import MessageView
from phishguard.ruleset.engine import run_text_rules
from phishguard.scanner import Scanner
from phishguard.settings import Settings
from phishguard.verdict import combine

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "chat_corpus"
SHARED = ROOT.parent / "shared" / "data" / "text"


def read_tsv(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--misses", action="store_true", help="print missed scam and flagged legit messages")
    ap.add_argument("--without-models", action="store_true",
                    help="switch the model rules (text_model matcher, rules/models.yaml) off: the keyword rules alone")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.test_text_corpus import obfuscate  # the same transformation the tests use

    scanner = Scanner(Settings())
    if args.without_models:
        models = [r.id for r in scanner.ruleset.text_rules if r.doc.matcher_name == "text_model"]
        scanner = Scanner(Settings(rule_overrides={rid: {"enabled": False} for rid in models}))

    def verdict(text: str) -> str:
        return combine(run_text_rules(scanner.ruleset, MessageView(text, normalize_text(text))), scanner.policy).verdict

    scam, legit = read_tsv(CORPUS / "scam.tsv"), read_tsv(CORPUS / "legit.tsv")
    print(f"chat corpus: {len(scam)} scam, {len(legit)} legit messages")
    by: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    misses, fps = [], []
    for r in scam + legit:
        hit = verdict(r["text"]) != "safe"
        for key in (("scenario", r["scenario"]), ("lang", r["lang"])):
            if r["label"] == "scam":
                by[key][0] += hit
                by[key][1] += 1
        if r["label"] == "scam" and not hit:
            misses.append(r)
        if r["label"] == "legit" and hit:
            fps.append(r)
    print(f"  recall {1 - len(misses) / len(scam):.1%} ({len(scam) - len(misses)}/{len(scam)}), "
          f"false positives {len(fps) / len(legit):.2%} ({len(fps)}/{len(legit)})")
    for (kind, name), (hit, n) in sorted(by.items()):
        print(f"    recall {kind:8} {name:14} {hit:3}/{n:3} = {hit / n:.0%}")
    rng = random.Random(4)
    o_scam = sum(verdict(obfuscate(r["text"], rng)) != "safe" for r in scam) / len(scam)
    o_legit = sum(verdict(obfuscate(r["text"], rng)) != "safe" for r in legit) / len(legit)
    print(f"  obfuscated (look-alike letters, zero-width, case): recall {o_scam:.1%}, false positives {o_legit:.2%}")
    hold = read_tsv(CORPUS / "holdout.tsv")
    h_scam = [r for r in hold if r["label"] == "scam"]
    h_legit = [r for r in hold if r["label"] == "legit"]
    h_hit = sum(verdict(r["text"]) != "safe" for r in h_scam)
    h_fp = sum(verdict(r["text"]) != "safe" for r in h_legit)
    print(f"  held-out set (written after the rules were frozen, never tuned on): recall {h_hit / len(h_scam):.1%} "
          f"({h_hit}/{len(h_scam)}), false positives {h_fp / len(h_legit):.1%} ({h_fp}/{len(h_legit)})")
    if args.misses:
        for r in misses:
            print(f"    MISS [{r['scenario']}] {r['text']}")
        for r in fps:
            print(f"    FP   [{r['scenario']}] {r['text']}")

    if not SHARED.is_dir():
        print(f"real chat: skipped ({SHARED} is absent)")
        return
    ham = [r["text"] for r in read_tsv(SHARED / "stankin_chat.tsv.gz") if r["label"] == "ham"]
    tg = read_tsv(SHARED / "tg_spam_samples.tsv")
    ham += [r["text"] for r in tg if r["label"] == "ham"]
    ham_flagged = [t for t in ham if verdict(t) != "safe"]
    print(f"real ham (stankin_chat + tg_spam_samples ham): {len(ham_flagged)}/{len(ham)} flagged = "
          f"{len(ham_flagged) / len(ham):.3%} (target <= 0.1%)")
    spam = [r["text"] for r in tg if r["label"] == "spam"]
    verdicts = [verdict(t) for t in spam]
    print(f"real spam (tg_spam_samples, crypto/job): {sum(v != 'safe' for v in verdicts)}/{len(spam)} flagged, "
          f"{verdicts.count('fraud')} fraud (must be 0: spam is not fraud)")
    if args.misses:
        for t in ham_flagged:
            print(f"    HAM FP {t[:160]!r}")


if __name__ == "__main__":
    main()
