"""Quality and speed of the lookalike engine on real data (../shared/data) and dnstwist permutations.

    .venv/bin/python benchmarks/lookalike_quality.py            # everything (about a minute)
    .venv/bin/python benchmarks/lookalike_quality.py --sample 50000 --top 40

Prints:
  1. recall on CERT Polska's brand-impersonating domains (hosts where
     ``(?<![a-z])(olx|allegro|vinted|inpost|dhl)`` matches), overall, per brand and per kind of hit;
  2. false positives on the Tranco top 1M, with the top ones and why;
  3. zero hits on the registry's own official domains (and www. + a deep subdomain of each);
  4. dnstwist permutations of each brand's main domain: share caught per fuzzer (short names apart);
  5. hosts per second, cold (no cache) and warm.
The data is read in place and never copied. dnstwist is a test-only dependency (offline fuzzers only).
"""

from __future__ import annotations

import argparse
import collections
import csv
import gzip
import io
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from phishguard.lookalike import BrandRegistry, LookalikeEngine, host_of

DATA = ROOT.parent / "shared" / "data"
BRAND_RE = re.compile(r"(?<![a-z])(olx|allegro|vinted|inpost|dhl)")
REQUIRED_FUZZERS = ("homoglyph", "omission", "repetition", "transposition", "replacement", "insertion",
                    "addition", "hyphenation", "subdomain", "vowel-swap", "bitsquatting", "cyrillic")
TYPO_FUZZERS = frozenset(REQUIRED_FUZZERS) - {"homoglyph", "cyrillic"}


def read_column(path: Path, column: str, limit: int | None = None) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        out = []
        for row in csv.DictReader(f, delimiter="\t"):
            out.append(row[column].strip().lower())
            if limit and len(out) >= limit:
                break
        return out


def certpl_brand_rows(limit: int | None = None) -> list[tuple[str, str]]:
    rows = []
    for h in read_column(DATA / "phishing" / "certpl_domains_2025.tsv.gz", "domain"):
        m = BRAND_RE.search(h)
        if m:
            rows.append((m.group(1), h))
    return rows[:limit] if limit else rows


def tranco(limit: int | None = None) -> list[str]:
    return read_column(DATA / "benign" / "tranco_top1m_20250115.tsv.gz", "domain", limit)


def recall(engine: LookalikeEngine, rows: list[tuple[str, str]], out: io.StringIO) -> float:
    per_brand = collections.Counter()
    caught = collections.Counter()
    kinds = collections.Counter()
    missed = collections.defaultdict(list)
    for brand, h in rows:
        per_brand[brand] += 1
        hits = engine.check(host_of(h))
        if hits:
            caught[brand] += 1
            kinds[hits[0].kind] += 1
        elif len(missed[brand]) < 8:
            missed[brand].append(h)
    total, got = sum(per_brand.values()), sum(caught.values())
    print(f"\n## 1. Recall on CERT Polska brand rows: {got}/{total} = {100 * got / total:.2f}%  (target >= 98%)",
          file=out)
    print("| brand | rows | caught | recall | missed examples |\n|---|---:|---:|---:|---|", file=out)
    for b, n in per_brand.most_common():
        print(f"| {b} | {n} | {caught[b]} | {100 * caught[b] / n:.2f}% | {', '.join(missed[b][:4])} |", file=out)
    print("\nStrongest kind per caught row:", file=out)
    print("| kind | rows | share |\n|---|---:|---:|", file=out)
    for k, n in kinds.most_common():
        print(f"| {k} | {n} | {100 * n / max(got, 1):.1f}% |", file=out)
    return got / total


def false_positives(engine: LookalikeEngine, hosts: list[str], top: int, out: io.StringIO) -> int:
    fps = []
    kinds = collections.Counter()
    for h in hosts:
        hits = engine.check(host_of(h))
        if hits:
            fps.append((hits[0].strength, h, hits[0]))
            kinds[hits[0].kind] += 1
    n = len(hosts)
    print(f"\n## 2. False positives on Tranco top 1M: {len(fps)}/{n} = {100 * len(fps) / n:.4f}%  "
          f"(target <= 0.05%, <= {n * 5 // 10000})", file=out)
    strong = sum(1 for s, _, _ in fps if s >= 0.7)
    print(f"of which strength >= 0.7: {strong}", file=out)
    print("| kind | count |\n|---|---:|", file=out)
    for k, c in kinds.most_common():
        print(f"| {k} | {c} |", file=out)
    print(f"\nTop {top} false positives (strongest first) and why:", file=out)
    print("| domain | kind | brand | strength | why |\n|---|---|---|---:|---|", file=out)
    for s, h, hit in sorted(fps, key=lambda x: (-x[0], x[1]))[:top]:
        print(f"| {h} | {hit.kind} | {hit.brand.id} | {s:.2f} | {hit.detail['en']} |", file=out)
    return len(fps)


def officials(engine: LookalikeEngine, registry: BrandRegistry, out: io.StringIO) -> int:
    bad = []
    n = 0
    for b in registry:
        for d in sorted(b.official_domains):
            for h in (d, "www." + d, "m.secure-pay." + d):
                n += 1
                if engine.check(host_of(h)):
                    bad.append(h)
    print(f"\n## 3. Official domains flagged: {len(bad)} of {n} (domains, www. and deep subdomains)"
          f"{': ' + ', '.join(bad[:20]) if bad else ''}", file=out)
    return len(bad)


def dnstwist_share(engine: LookalikeEngine, registry: BrandRegistry, out: io.StringIO) -> dict:
    try:
        import dnstwist
    except ImportError:
        print("\n## 4. dnstwist: not installed (pip install dnstwist), skipped", file=out)
        return {}
    short_len = engine.params.short_name_len
    tot = collections.Counter()
    got = collections.Counter()
    tot_s = collections.Counter()
    got_s = collections.Counter()
    missed = collections.defaultdict(list)
    for b in registry:
        domain = b.main_domain
        f = dnstwist.Fuzzer(domain)
        f.generate()
        label = domain.split(".")[0]
        short = len(label.replace("-", "")) <= short_len
        for p in f.domains:
            fz, d = p["fuzzer"], p["domain"]
            if fz == "*original" or not d:
                continue
            h = host_of(d)
            if registry.official_brand(h) is not None or h.registered_domain in b.known_legit:
                continue  # a real domain of the brand ("ozone.ru"): not a lookalike
            ok = any(x.brand.id == b.id for x in engine.check(h))
            key = fz
            if short:
                tot_s[key] += 1
                got_s[key] += ok
            else:
                tot[key] += 1
                got[key] += ok
                if not ok and len(missed[key]) < 6:
                    missed[key].append(d)
    print("\n## 4. dnstwist permutations of each brand's main domain (caught = a hit for that brand)", file=out)
    print("| fuzzer | names >= 5 letters | caught | names <= 4 letters | caught | missed examples |", file=out)
    print("|---|---:|---:|---:|---:|---|", file=out)
    req_t = req_g = 0
    res = {}
    for fz in sorted(set(tot) | set(tot_s)):
        a, g = tot[fz], got[fz]
        a2, g2 = tot_s[fz], got_s[fz]
        star = " *" if fz in REQUIRED_FUZZERS else ""
        print(f"| {fz}{star} | {a} | {100 * g / a if a else 0:.1f}% | {a2} | {100 * g2 / a2 if a2 else 0:.1f}% | "
              f"{', '.join(missed[fz][:3])} |", file=out)
        res[fz] = (g / a if a else None, g2 / a2 if a2 else None)
        if fz in REQUIRED_FUZZERS:
            req_t += a
            req_g += g
            if fz not in TYPO_FUZZERS:  # homoglyph/cyrillic count for short names too
                req_t += a2
                req_g += g2
    share = req_g / req_t if req_t else 0
    print(f"\nRequired fuzzers (*) overall: {100 * share:.2f}% (target >= 95%; short names' typo classes "
          f"are reported apart and not counted: edit distance is off for them by design)", file=out)
    res["_overall"] = share
    return res


def speed(registry: BrandRegistry, hosts: list[str], out: io.StringIO) -> float:
    infos = [host_of(h) for h in hosts]
    engine = LookalikeEngine(registry)
    engine.check(host_of("warm-up-imports.example.com"))
    t = time.perf_counter()
    for h in infos:
        engine.check(h)
    cold = len(infos) / (time.perf_counter() - t)
    hot = infos[: min(len(infos), engine.params.cache_size // 2)]  # fits the per-host cache
    engine = LookalikeEngine(registry)
    for h in hot:
        engine.check(h)
    t = time.perf_counter()
    for h in hot:
        engine.check(h)
    warm = len(hot) / (time.perf_counter() - t)
    print(f"\n## 5. Speed on {len(infos)} distinct hosts (HostInfo prebuilt; one core): "
          f"cold {cold:,.0f} hosts/s, warm (cached, {len(hot):,} hosts) {warm:,.0f} hosts/s  "
          f"(target >= 20,000 cold)  "
          f"[{platform.processor() or platform.machine()}, Python {platform.python_version()}]", file=out)
    return cold


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=None, help="only the first N Tranco domains")
    ap.add_argument("--top", type=int, default=30, help="how many false positives to list")
    ap.add_argument("--speed-hosts", type=int, default=100_000)
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"data folder {DATA} is absent: nothing to measure", file=sys.stderr)
        return 2
    registry = BrandRegistry.default()
    engine = LookalikeEngine(registry)
    out = io.StringIO()
    print(f"# Lookalike quality ({len(registry)} brands)", file=out)
    r = recall(engine, certpl_brand_rows(), out)
    hosts = tranco(args.sample)
    fp = false_positives(engine, hosts, args.top, out)
    off = officials(engine, registry, out)
    dn = dnstwist_share(engine, registry, out)
    cold = speed(registry, hosts[: args.speed_hosts][::-1], out)
    print("\n## Summary", file=out)
    print(f"recall {100 * r:.2f}% | Tranco FP {fp} | official flagged {off} | dnstwist required "
          f"{100 * dn.get('_overall', 0):.2f}% | cold {cold:,.0f} hosts/s", file=out)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
