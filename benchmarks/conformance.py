"""API conformance: schemathesis against ``/openapi.json`` of a live ``phishguard serve`` (issue #9).

Usage: python benchmarks/conformance.py [--max-examples N] [--seed S] [--max-time SECONDS]

Starts one service worker on 127.0.0.1 with a temporary SQLite moderation store, one admin API key
(so the scanning and admin operations really require it) and a moderator created with
``phishguard users add``; runs ``schemathesis run`` with every check, every phase (examples,
coverage, fuzzing, stateful) and per-scheme authentication (the API key for ``bearer``, a session
from ``POST /v1/moderation/login`` for ``moderator``, fetched again after a logout); then prints what
schemathesis generated and found, and — counted independently from the service's access log — how
many requests the service answered, by status class, and how many were 5xx.

``tests/test_conformance.py`` runs the same harness with a small ``--max-examples``. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
MODERATOR = "anna"
PASSWORD = "correct horse battery staple"
START_TIMEOUT_S = 30.0
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]


@dataclass
class Service:
    """A running ``phishguard serve`` and what a client needs to call it."""

    proc: subprocess.Popen
    base: str
    api_key: str
    log: Path


@dataclass
class Outcome:
    """What one schemathesis run found, and what the service saw."""

    exit_code: int
    generated: int
    failures: int
    operations: str
    statuses: Counter = field(default_factory=Counter)
    summary: str = ""

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def child_env(db_url: str, **extra: str) -> dict[str, str]:
    """The environment of a phishguard child: the caller's, less its PHISHGUARD_* settings, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHISHGUARD_", "PROMETHEUS_"))}
    env["PHISHGUARD_DATABASE_URL"] = db_url
    env.update(extra)
    return env


def add_moderator(db_url: str, name: str = MODERATOR, password: str = PASSWORD) -> None:
    """``phishguard users add NAME --role moderator`` with the password on stdin."""
    subprocess.run(
        [sys.executable, "-m", "phishguard", "users", "add", name, "--role", "moderator"],
        input=password + "\n", text=True, check=True, capture_output=True, env=child_env(db_url), cwd=ROOT,
    )


def wait_ready(base: str, proc: subprocess.Popen, log: Path) -> None:
    """Poll ``/readyz`` until 200; SystemExit with the log's tail if the service dies or never answers."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(base + "/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return
        time.sleep(0.05)
    raise SystemExit(f"phishguard serve did not become ready:\n{log.read_text(errors='replace')[-3000:]}")


@contextlib.contextmanager
def running_service(workdir: Path, **settings: str) -> Iterator[Service]:
    """``phishguard serve`` on a free loopback port with one admin key and a moderator; stopped at the end.

    ``settings`` are extra ``PHISHGUARD_*`` variables (e.g. ``PHISHGUARD_SERVICE__LOG_TEXT="false"``)."""
    from phishguard.service.keys import hash_key, new_key

    db_url = f"sqlite:///{workdir / 'moderation.db'}"
    add_moderator(db_url)
    key = new_key()
    keys = json.dumps([{"tenant": "conformance", "sha256": hash_key(key), "admin": True}])
    port = free_port()
    log = workdir / "serve.log"
    env = child_env(db_url, PHISHGUARD_SERVICE__API_KEYS=keys, **settings)
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "phishguard", "serve", "--host", HOST, "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=workdir, start_new_session=True,
        )
    service = Service(proc, f"http://{HOST}:{port}", key, log)
    try:
        wait_ready(service.base, proc, log)
        yield service
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> int:
    """SIGTERM (graceful), SIGKILL of the process group after 20 s; the exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait()
    return int(proc.returncode)


def write_config(path: Path, service: Service) -> Path:
    """A schemathesis.toml authenticating each security scheme of the document its own way."""
    login = json.dumps({"user": MODERATOR, "password": PASSWORD})
    path.write_text(
        "[auth.openapi.bearer]\n"
        f'bearer = "{service.api_key}"\n\n'
        "[auth.dynamic.openapi.moderator]\n"
        'path = "/v1/moderation/login"\n'
        'method = "post"\n'
        f"payload = {_toml_inline(json.loads(login))}\n"
        'extract_selector = "/token"\n\n'
        # schemathesis' default rejections, plus 413: a body over an operation's documented size limit
        # (a limit JSON Schema cannot state) is rejected with 413 before it is parsed
        "[checks.negative_data_rejection]\n"
        f"expected-statuses = {json.dumps(REJECTIONS)}\n",
        encoding="utf-8",
    )
    return path


def _toml_inline(table: dict[str, str]) -> str:
    return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in table.items()) + " }"


def access_statuses(log: Path) -> Counter:
    """Requests answered, by status, from the service's JSON access-log lines."""
    statuses: Counter = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith('{"method"'):
            with contextlib.suppress(ValueError, KeyError):
                statuses[int(json.loads(line)["status"])] += 1
    return statuses


def run_schemathesis(
    service: Service, workdir: Path, max_examples: int, seed: int, max_time: float | None, phases: str | None = None
) -> Outcome:
    """One ``schemathesis run`` with every check against the live service; its parsed summary."""
    config = write_config(workdir / "schemathesis.toml", service)
    argv = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color", "run",
        service.base + "/openapi.json", "--checks", "all", "--max-examples", str(max_examples),
        "--seed", str(seed), "--workers", "1", "--generation-database", "none",
        "--request-timeout", "30",
    ]
    if max_time:
        argv += ["--max-time", str(int(max_time))]
    if phases:
        argv += ["--phases", phases]
    done = subprocess.run(argv, check=False, capture_output=True, text=True, cwd=workdir, env=os.environ | {"COLUMNS": "120"})
    out = done.stdout + done.stderr
    (workdir / "schemathesis.out").write_text(out, encoding="utf-8")
    time.sleep(0.3)  # the access log reaches stderr at most 0.1 s late
    return Outcome(
        exit_code=done.returncode,
        generated=_number(r"(\d+) generated", out),
        failures=_number(r"(\d+) (?:unique )?failures?", out),
        operations=_match(r"Tested: (\d+)", out) or "?",
        statuses=access_statuses(service.log),
        summary=out[out.find("=== SUMMARY") :] if "=== SUMMARY" in out else out[-4000:],
    )


def _number(pattern: str, text: str) -> int:
    found = re.findall(pattern, text)
    return int(found[-1]) if found else 0


def _match(pattern: str, text: str) -> str | None:
    m = re.search(pattern, text)
    return m.group(1) if m else None


def conformance(
    workdir: Path, max_examples: int, seed: int, max_time: float | None = None, phases: str | None = None
) -> Outcome:
    """Start the service, run schemathesis against it (``phases``: all by default), stop it."""
    with running_service(workdir) as service:
        return run_schemathesis(service, workdir, max_examples, seed, max_time, phases)


def report(outcome: Outcome, elapsed: float) -> str:
    """The figures, one per line."""
    by_class = Counter(f"{status // 100}xx" for status in outcome.statuses.elements())
    return "\n".join([
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}",
        f"operations tested: {outcome.operations}",
        f"test cases generated by schemathesis: {outcome.generated}",
        f"requests the service answered (access log): {outcome.requests} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(by_class.items()))})",
        f"statuses: {dict(sorted(outcome.statuses.items()))}",
        f"server errors (5xx): {outcome.server_errors}",
        f"schemathesis failures (all checks): {outcome.failures}; exit status {outcome.exit_code}",
        f"elapsed: {elapsed:.0f} s",
    ])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-examples", type=int, default=100, help="test cases per operation and phase")
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--max-time", type=float, default=None, help="time budget of the schemathesis run")
    ap.add_argument("--phases", default=None, help="schemathesis phases (default: all)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs, schemathesis output)")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="phishguard-conformance-"))
    t0 = time.monotonic()
    outcome = conformance(workdir, args.max_examples, args.seed, args.max_time, args.phases)
    print(report(outcome, time.monotonic() - t0))
    if outcome.failures or outcome.exit_code:
        print(outcome.summary)
    print(f"work folder: {workdir}" if args.keep else "")
    if not args.keep:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if outcome.failures or outcome.server_errors or outcome.exit_code else 0)


if __name__ == "__main__":
    main()
