"""Coverage-guided fuzzing of phishguard's parsers with atheris (libFuzzer), one target at a time.

Usage (from the repository root)::

    .venv/bin/python fuzz/run.py                       # every target, 1,000,000 executions each
    .venv/bin/python fuzz/run.py extract --runs 20000  # one target, a short run
    .venv/bin/python fuzz/run.py --minimize-only       # just re-minimize the corpora

For each target it runs libFuzzer in a child process (instrumenting ``phishguard`` and ``idna``)
for a fixed number of executions, reading ``fuzz/corpus/<target>/`` and writing new inputs to a
scratch folder (``fuzz/.work/<target>/``, git-ignored); then it merges both into a *minimized*
corpus (libFuzzer ``-merge=1``: only inputs that add coverage are kept) and replaces
``fuzz/corpus/<target>/`` with it. Crashes land in ``fuzz/.work/<target>/crash-*``.

The child also times every execution and keeps the slowest input seen in
``fuzz/slowest/<target>.bin`` (with ``.json`` metadata: milliseconds, instrumented);
``benchmarks/worst_case.py`` re-times it through a whole scan. A summary of the last run of each
target (executions, seconds, coverage, corpus size, crashes) goes to ``fuzz/last_run.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
CORPUS = FUZZ / "corpus"
WORK = FUZZ / ".work"
SLOWEST = FUZZ / "slowest"
SUMMARY = FUZZ / "last_run.json"

TARGET_NAMES = ("extract", "hosts", "page", "request")
#: libFuzzer's -max_len per target: long enough for every cap-free code path, short enough to be fast.
MAX_LEN = {"extract": 4096, "hosts": 1024, "page": 16384, "request": 4096}
DEFAULT_RUNS = 1_000_000
TIMEOUT_S = 10  # one input taking longer is reported by libFuzzer as a timeout (a finding)

_DONE_RE = re.compile(r"Done (\d+) runs in (\d+) second")
_STATS_RE = re.compile(r"cov: (\d+) ft: (\d+) corp: (\d+)")


# --- the child: one libFuzzer run -----------------------------------------------------------------


class _Slowest:
    """Times each execution; keeps the slowest input on disk (written when the record is broken)."""

    def __init__(self, target: str, fn: Callable[[bytes], None]):
        self.target, self.fn = target, fn
        self.worst = 0.0
        SLOWEST.mkdir(exist_ok=True)

    def __call__(self, data: bytes) -> None:
        t0 = time.perf_counter()
        try:
            self.fn(data)
        finally:
            elapsed = time.perf_counter() - t0
            if elapsed > self.worst:
                self._record(data, elapsed)

    def _record(self, data: bytes, elapsed: float) -> None:
        self.worst = elapsed
        (SLOWEST / f"{self.target}.bin").write_bytes(data)
        meta = {"target": self.target, "ms": round(elapsed * 1000, 3), "bytes": len(data), "instrumented": True}
        (SLOWEST / f"{self.target}.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


def _child(target: str, libfuzzer_args: list[str]) -> None:
    """Instrument phishguard, then hand the target to libFuzzer (which exits the process)."""
    import atheris

    sys.path.insert(0, str(ROOT))
    # (atheris' "RegEx" hook is left off: its pattern proxy does not take search(text, pos))
    atheris.enabled_hooks.add("str")
    with atheris.instrument_imports(include=["phishguard", "idna"]):
        from fuzz.targets import TARGETS
    from fuzz.seeds import SEEDS

    fn = TARGETS[target]
    for data in SEEDS[target]:  # warm up: lazy imports and first-use caches are not "slow inputs"
        fn(data)
    timed = _Slowest(target, fn) if "-merge=1" not in libfuzzer_args else fn
    atheris.Setup([str(_launcher(target)), *libfuzzer_args], timed)
    atheris.Fuzz()


# --- the parent: seeds, runs, merges, summary -----------------------------------------------------


def _launcher(target: str) -> Path:
    """An executable that starts the child for ``target``: libFuzzer re-runs its argv[0] (merges)."""
    path = WORK / target / "fuzzer"
    path.parent.mkdir(parents=True, exist_ok=True)
    script = f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" --child {target} -- "$@"\n'
    if not path.exists() or path.read_text(encoding="utf-8") != script:
        path.write_text(script, encoding="utf-8")
        path.chmod(0o755)
    return path


def _libfuzzer(target: str, args: list[str], log: Path) -> str:
    """Run this script as a libFuzzer child for ``target``; return its log (stderr + stdout)."""
    cmd = [str(_launcher(target)), *args]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    with log.open("w", encoding="utf-8") as out:
        subprocess.run(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    return log.read_text(encoding="utf-8", errors="replace")


def _seed(target: str) -> None:
    """Put the seeds into an empty corpus."""
    from fuzz.seeds import SEEDS

    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    if not any(folder.iterdir()):
        for i, data in enumerate(SEEDS[target]):
            (folder / f"seed-{i:02d}").write_bytes(data)


def minimize(target: str) -> int:
    """Replace the corpus with a minimized merge of it and the scratch inputs; return its size."""
    work, corpus = WORK / target, CORPUS / target
    fresh = work / "merged"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    sources = [str(corpus)] + ([str(work / "new")] if (work / "new").is_dir() else [])
    log = _libfuzzer(target, ["-merge=1", f"-max_len={MAX_LEN[target]}", str(fresh), *sources],
                     work / "merge.log")
    kept = sorted(fresh.iterdir())
    if not kept:
        raise SystemExit(f"{target}: merge produced nothing; see {work / 'merge.log'}\n{log[-2000:]}")
    shutil.rmtree(corpus)
    corpus.mkdir()
    for path in kept:
        shutil.copyfile(path, corpus / path.name)
    shutil.rmtree(fresh)
    shutil.rmtree(work / "new", ignore_errors=True)
    return len(kept)


def fuzz(target: str, runs: int) -> dict[str, object]:
    """One fixed-count libFuzzer run of ``target``, then corpus minimization; the run's figures."""
    work = WORK / target
    (work / "new").mkdir(parents=True, exist_ok=True)
    _seed(target)
    args = [f"-runs={runs}", f"-max_len={MAX_LEN[target]}", f"-timeout={TIMEOUT_S}", "-print_final_stats=1",
            f"-artifact_prefix={work}/", str(work / "new"), str(CORPUS / target)]
    t0 = time.monotonic()
    log = _libfuzzer(target, args, work / "fuzz.log")
    seconds = time.monotonic() - t0
    done = _DONE_RE.search(log)
    stats = _STATS_RE.findall(log)
    crashes = sorted(p.name for p in work.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-")))
    slow = json.loads((SLOWEST / f"{target}.json").read_text(encoding="utf-8")) if (
        SLOWEST / f"{target}.json").exists() else {}
    return {
        "target": target,
        "executions": int(done.group(1)) if done else None,
        "seconds": round(seconds, 1),
        "coverage": int(stats[-1][0]) if stats else None,
        "features": int(stats[-1][1]) if stats else None,
        "corpus_files": minimize(target),
        "crashes": crashes,
        "slowest_ms_instrumented": slow.get("ms"),
        "completed": done is not None,
    }


def _save(results: list[dict[str, object]]) -> None:
    old = json.loads(SUMMARY.read_text(encoding="utf-8")) if SUMMARY.exists() else {}
    old.update({r["target"]: r for r in results})
    SUMMARY.write_text(json.dumps(old, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child(argv[1], argv[3:] if argv[2:3] == ["--"] else argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help=f"some of {', '.join(TARGET_NAMES)} (default: all)")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="executions per target")
    parser.add_argument("--minimize-only", action="store_true", help="only re-minimize the corpora")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.targets) - set(TARGET_NAMES))
    if unknown:
        parser.error(f"unknown targets {unknown}; known: {', '.join(TARGET_NAMES)}")
    sys.path.insert(0, str(ROOT))
    results = []
    for target in args.targets or TARGET_NAMES:
        if args.minimize_only:
            _seed(target)
            print(f"{target}: {minimize(target)} corpus files", flush=True)
            continue
        result = fuzz(target, args.runs)
        print(json.dumps(result, ensure_ascii=False), flush=True)
        results.append(result)
        _save([result])
    return 1 if any(r["crashes"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
