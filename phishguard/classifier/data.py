"""Read labelled data for training and evaluation: TSV corpora, reviewer JSONL, the shared real sets.

Every reader returns :class:`Rows` (texts, labels, and a :class:`Source` with path, row count and sha256
for the model card). Labels are mapped to the text model's classes: ``scam`` (marketplace fraud),
``spam`` (unwanted but not fraud: crypto, jobs, ads) and ``ham``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .card import sha256_file

_HOST_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)+$")

__all__ = ["Source", "Rows", "LABELS", "read_labelled", "read_hosts", "split_key", "map_label"]

#: How labels in the inputs map to the text model's classes.
LABELS = {
    "scam": "scam", "fraud": "scam", "phishing": "scam",
    "spam": "spam",
    "ham": "ham", "legit": "ham", "safe": "ham", "ok": "ham",
}


@dataclass(frozen=True)
class Source:
    """One input file as the model card lists it."""

    path: str
    rows: int
    sha256: str
    note: str = ""


@dataclass
class Rows:
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)

    def extend(self, other: "Rows") -> None:
        self.texts += other.texts
        self.labels += other.labels
        self.sources += other.sources

    def __len__(self) -> int:
        return len(self.texts)


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def map_label(label: str) -> str:
    """A label of an input file as a text-model class.

    >>> map_label("legit"), map_label("Fraud")
    ('ham', 'scam')
    """
    try:
        return LABELS[label.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown label {label!r} (known: {', '.join(sorted(LABELS))})") from None


def _records(path: Path) -> Iterator[dict[str, str]]:
    """TSV (header with ``label`` and ``text``) or JSONL (``{"text", "label", ...}``, e.g. ``export-reviews``)."""
    name = path.name.removesuffix(".gz")
    with _open(path) as f:
        if name.endswith((".jsonl", ".json")):
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError as exc:
                        raise ValueError(f"{path}:{n}: not JSON ({exc})") from None
        else:
            yield from csv.DictReader(f, delimiter="\t")


def read_labelled(
    path: Path, keep: Callable[[str, str], bool] | None = None, note: str = ""
) -> Rows:
    """Labelled messages from one file; ``keep(text, class)`` filters rows (e.g. a fixed split)."""
    path = Path(path)
    out = Rows()
    for rec in _records(path):
        text, label = rec.get("text"), rec.get("label")
        if not text or not label:
            continue
        cls = map_label(label)
        if keep is None or keep(text, cls):
            out.texts.append(text)
            out.labels.append(cls)
    out.sources.append(Source(str(path), len(out.texts), sha256_file(path), note))
    return out


def split_key(text: str, salt: str = "phishguard") -> float:
    """A stable number in [0, 1) for a text: fixed splits that do not depend on file order or a RNG.

    >>> 0 <= split_key("привет") < 1, split_key("a") == split_key("a")
    (True, True)
    """
    h = hashlib.blake2b((salt + "\x00" + text).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**64


def read_hosts(path: Path, column: str, date_column: str | None = None) -> tuple[list[str], list[str], Source]:
    """(hosts, dates, source) from a one-host-per-row TSV; URLs are reduced to their host."""
    path = Path(path)
    hosts, dates = [], []
    with _open(path) as f:
        for rec in csv.DictReader(f, delimiter="\t"):
            h = _host_of(rec.get(column) or "")
            if h:
                hosts.append(h)
                dates.append(rec.get(date_column, "") if date_column else "")
    return hosts, dates, Source(str(path), len(hosts), sha256_file(path))


def _host_of(value: str) -> str:
    """The host of a domain or URL, lowercase, without port or trailing dot.

    >>> _host_of("https://Login.Example.com:8443/a?b"), _host_of("example.org.")
    ('login.example.com', 'example.org')
    """
    v = value.strip().lower()
    if "://" in v:
        v = v.split("://", 1)[1]
    v = v.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    v = v.split(":", 1)[0].rstrip(".")
    return v if _HOST_RE.match(v) else ""


def dedupe(texts: Iterable[str], labels: Iterable[str]) -> tuple[list[str], list[str]]:
    """Drop repeated (text, label) pairs, keeping the first."""
    seen: set[tuple[str, str]] = set()
    t_out, l_out = [], []
    for t, lab in zip(texts, labels):
        if (t, lab) not in seen:
            seen.add((t, lab))
            t_out.append(t)
            l_out.append(lab)
    return t_out, l_out
