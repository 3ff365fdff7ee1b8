"""Model matchers: ``text_model`` (scope text) and ``url_model`` (scope url) score with the shipped models.

They use the numpy export (:mod:`phishguard.classifier.serve`), not scikit-learn, so the scanner starts
fast and small. A model is loaded lazily, on the first message that needs it, once per folder and card
(shared by the rules that use it), after its sha256 is checked against its card; a refused or missing
file makes every call fail with the same clear error, which the engine reports as a degraded verdict.

The raw score and model version go to ``msg.memo["models"]`` (``{"text": {"score", "version"}}``) so the
scanner can copy them into ``Verdict.models``. :func:`score_batch` fills those memos for a whole batch in one
vectorized call (``Scanner.scan_many``) and, for the messages a ``text_model`` rule will fire on, computes the
explanation words from the batch's own tf-idf rows in one more pass; the matcher then only reads them. Alone
(``Scanner.scan``), a message is featurized once for its score and, if a rule fires, explained from that row.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..resources import gc_seconds, loading, loading_seconds
from .matchers import DomainList, Hit, LinkFn, LinkView, MessageView, Resources, TextFn, _Params, matcher

if TYPE_CHECKING:
    from .loader import CompiledRule

__all__ = [
    "Deadline",
    "DEADLINE",
    "TextModelParams",
    "UrlModelParams",
    "models_dir",
    "set_models_dir",
    "loaded_model",
    "loaded_models",
    "score_batch",
    "model_text",
    "words_outside_links",
]

_DIR: Path | None = None
_LOCK = threading.Lock()
_LOADED: dict[tuple[str, float], Any] = {}
#: Private ``msg.memo`` key: the text model's :class:`~phishguard.classifier.serve.One` of a message scored alone
#: (shared by the rules: the first scores it, a rule that fires explains it from there).
_SCORED = "text_model_scored"
#: The signal a ``text_model`` matcher raises when the model read only the beginning of a long message
#: (rules/degraded.yaml turns it into a reason).
CUT_SIGNAL = "text_model_truncated"
#: ``msg.memo`` key of the scan's :class:`Deadline` (set by ``Scanner.scan``; absent: no budget).
DEADLINE = "deadline"


class Deadline:
    """A scan's time budget (``limits.scan_budget_ms``), checked between its expensive stages.

    The budget is CPU time of the scanning thread (``time.thread_time``), not wall time: it bounds what a
    message costs, and a busy host that takes the CPU away mid-scan (other processes, other threads
    holding the GIL) must not turn a fraud verdict into a degraded one with its links unchecked.
    The CPU clock is a system call (~0.4 µs, several when the caches are cold), so :meth:`passed` reads
    the wall clock first: a thread cannot have used more CPU time than the wall time since the scan began,
    so until the budget has passed in wall time, it has not passed in CPU time either. Each part skipped for
    the budget is noted in :attr:`skipped` (part -> what was skipped, ``{"ru": …, "en": …}``) for the
    scanner's degraded reason.
    """

    __slots__ = ("_collected", "_loaded", "end", "skipped", "wall_end")

    def __init__(self, start: float, budget_s: float) -> None:
        self.end = start + budget_s
        self.wall_end = time.perf_counter() + budget_s  # read after ``start``: never earlier than the CPU end
        self.skipped: dict[str, dict[str, str]] = {}
        self._loaded = loading_seconds()
        self._collected = gc_seconds()

    def passed(self) -> bool:
        """Whether the budget is spent (one-time loads and garbage collections during the scan not counted)."""
        if time.perf_counter() < self.wall_end:
            return False
        excluded = (loading_seconds() - self._loaded) + (gc_seconds() - self._collected)
        return time.thread_time() - excluded > self.end

    def skip(self, part: str, detail: dict[str, str]) -> None:
        """Note that ``part`` was skipped (the first note of a part stays)."""
        self.skipped.setdefault(part, detail)


def set_models_dir(path: Path | None) -> None:
    """Use models from ``path`` (None: the shipped ``models/``) for rulesets built from now on."""
    global _DIR
    _DIR = Path(path) if path is not None else None


def models_dir(res: Resources | None = None) -> Path:
    """``res.models_dir`` if the resources carry one, else :func:`set_models_dir`'s, else the shipped folder."""
    configured = getattr(res, "models_dir", None) if res is not None else None
    if configured:
        return Path(configured)
    if _DIR is not None:
        return _DIR
    from ..resources import shipped_dir

    return shipped_dir("models")


class _Lazy:
    """Loads a model on first use; remembers a failure and raises it again (no retry storm)."""

    __slots__ = ("card", "_model", "_error")

    def __init__(self, card: Path):
        self.card = card
        self._model: Any = None
        self._error: Exception | None = None

    def get(self) -> Any:
        if self._model is not None:
            return self._model
        if self._error is not None:
            raise self._error
        try:
            with loading():
                self._model = loaded_model(self.card)
        except Exception as exc:
            self._error = exc
            raise
        return self._model


def loaded_model(card: Path) -> Any:
    """The numpy model of ``card`` (sha256-checked), loaded once per card file version."""
    from ..classifier.serve import load_numpy_model

    key = (str(card.resolve()), card.stat().st_mtime)
    with _LOCK:
        model = _LOADED.get(key)
        if model is None:
            model = _LOADED[key] = load_numpy_model(card)
        return model


def loaded_models() -> list[Any]:
    """The models loaded so far in this process."""
    with _LOCK:
        return list(_LOADED.values())


def _card(res: Resources, name: str) -> Path:
    card = models_dir(res) / f"{name}.json"
    if not card.is_file():
        raise ValueError(f"model card {card} is missing: run 'phishguard train' or disable the model rules")
    return card


def _threshold(card: Path, label: str, given: float | None) -> float:
    if given is not None:
        return given
    from ..classifier.card import read_card

    return float(read_card(card)["thresholds"][label])


class TextModelParams(_Params):
    label: str = Field("scam", description="The text model's class to score: scam or spam.")
    threshold: float | None = Field(None, ge=0, le=1, description="Fire at this probability (default: the card's).")
    top: int = Field(3, ge=1, le=10, description="How many contributing words to show in the message.")
    min_words: int = Field(
        2, ge=0, description="Fire only on messages with at least this many words outside links (a bare link or a "
        "number gives the model nothing to read; the link rules judge links).",
    )
    max_chars: int = Field(
        2048, ge=64, description="The model reads at most this many characters of the normalized text (it was "
        "trained on chat messages, and its cost grows with the text): a longer message is cut for the model "
        "only, and the scanner notes it (signal text_model_truncated). Rules sharing the model share the cut "
        "of the first one that scores a message.",
    )


#: A whitespace-free chunk that is a link: a scheme, ``www.``, or a dotted name ending in a Latin TLD.
#: (Chunks and marks are two regexes: one ``\S*(?:mark)\S*`` retries every start inside a long chunk
#: without a mark, which is quadratic — 20,000 letters in one word took 7 s.)
_CHUNK = re.compile(r"\S+")
_LINK_MARK = re.compile(r"://|www\.|\.[a-z]{2,}(?:[/:?#]|\Z)", re.IGNORECASE)
_LETTER_WORD = re.compile(r"[^\W\d_]{2,}")


def _drop_link(chunk: re.Match[str]) -> str:
    return " " if _LINK_MARK.search(chunk.group()) else chunk.group()


def words_outside_links(text: str, enough: int | None = None) -> int:
    """How many words (two or more letters) ``text`` has outside its links; with ``enough``, counting
    stops there (``min(count, enough)``: a long message is not read to its end to learn it has two words).

    >>> words_outside_links("Оплата тут: https://partner.top/track/1"), words_outside_links("bit.ly/3xyz 10000")
    (2, 0)
    >>> words_outside_links("one two three four", enough=2)
    2
    """
    if enough is None:
        return len(_LETTER_WORD.findall(_CHUNK.sub(_drop_link, text)))
    count = 0
    for chunk in _CHUNK.finditer(text):
        if count >= enough:
            break
        if not _LINK_MARK.search(chunk.group()):
            count += len(_LETTER_WORD.findall(chunk.group()))
    return min(count, enough)


def model_text(msg: MessageView, max_chars: int) -> str:
    """What the text model reads of ``msg``: its normalized text, cut at ``max_chars`` characters; a cut
    raises the :data:`CUT_SIGNAL` signal (the scanner's degraded note) with how much was read."""
    text = msg.norm.text
    if len(text) <= max_chars:
        return text
    msg.signals[CUT_SIGNAL] = f"{max_chars} of {len(text)}"
    return text[:max_chars]


def _entry(model: Any, proba: Any) -> dict[str, Any]:
    """The memo entry of one message's text-model scores (copied into ``Verdict.models["text"]``)."""
    entry: dict[str, Any] = {"version": model.version, **{c: round(float(v), 6) for c, v in zip(model.classes, proba)}}
    entry["score"] = entry.get("scam", 0.0)
    return entry


def _evidence(msg: MessageView, words: list[str]) -> str:
    """The strongest word as written in the message (evidence is a substring of the input)."""
    norm = msg.norm
    for w in words:
        m = re.search(rf"(?<!\w){re.escape(w)}(?!\w)", norm.text)
        if m:
            return norm.original_slice(m.start(), m.end())
    return msg.text[:80]


def score_batch(rules: Iterable[CompiledRule], msgs: list[MessageView]) -> None:
    """Score the texts of ``msgs`` with the text model in one vectorized call and leave each message's
    scores in its memo, where the ``text_model`` matchers read them (``Scanner.scan_many``); then let each
    ``text_model`` rule explain, from the batch's tf-idf rows, the messages it will fire on.

    Does nothing without a ``text_model`` rule among ``rules`` or when the model does not load (each
    message's matcher then reports the failure as it would alone).
    """
    fns = [r.fn for r in rules if r.doc.matcher_name == "text_model"]
    if not fns or not msgs:
        return
    done = fns[0].score_batch(msgs)
    if done is not None:
        for fn in fns:
            fn.explain_batch(msgs, *done)


class _Explained(threading.local):
    """The explanation words a rule computed for the last batch this thread scored, by memo entry.

    Keyed by ``id`` of the message's memo entry (the entry is held, so the id stays its own) and checked
    by identity: only a message of that very batch reads them; any other is explained on its own.
    """

    def __init__(self) -> None:
        self.words: dict[int, tuple[dict[str, Any], list[str]]] = {}

    def get(self, entry: dict[str, Any]) -> list[str] | None:
        got = self.words.get(id(entry))
        return got[1] if got is not None and got[0] is entry else None


_SKIPPED_MODEL = {"ru": "модель текста", "en": "the text model"}


def _out_of_time(msg: MessageView) -> bool:
    """Whether the scan's deadline passed before the text model scored ``msg`` (then it is noted as skipped;
    scores a batch computed beforehand are used whatever the time)."""
    deadline = msg.memo.get(DEADLINE)
    if deadline is None or "text" in msg.memo.get("models", ()) or not deadline.passed():
        return False
    deadline.skip("text_model", _SKIPPED_MODEL)
    return True


def _scored_entry(msg: MessageView, model: Any, text: str) -> dict[str, Any]:
    """The message's text-model memo entry; ``text`` (what the model reads of it) scored now, alone
    (:meth:`~phishguard.classifier.serve.LinearModel.scored_one`), if the batch did not score it."""
    memo = msg.memo.setdefault("models", {})
    entry = memo.get("text")
    if entry is None:
        one = msg.memo[_SCORED] = model.scored_one(text)
        entry = memo["text"] = _entry(model, one.proba)
    return entry


@matcher("text_model", "text", TextModelParams)
def _build_text_model(p: TextModelParams, res: Resources) -> TextFn:
    """The text model's probability of ``label`` reaches its threshold on a message with words to read;
    the message names the words that pushed it most, the evidence is the strongest of them."""
    card = _card(res, "text")
    thr = _threshold(card, p.label, p.threshold)
    lazy = _Lazy(card)
    explained = _Explained()

    def fires(entry: dict[str, Any], text: str) -> bool:
        return float(entry.get(p.label, 0.0)) >= thr and words_outside_links(text, p.min_words) >= p.min_words

    def run(msg: MessageView) -> Iterator[Hit]:
        if _out_of_time(msg):
            return
        model = lazy.get()
        text = model_text(msg, p.max_chars)
        entry = _scored_entry(msg, model, text)
        score = float(entry.get(p.label, 0.0))
        if score < thr:
            return
        words = explained.get(entry)  # fires() held in the batch
        if words is None:
            if words_outside_links(text, p.min_words) < p.min_words:
                return
            one = msg.memo.get(_SCORED)
            if one is None:  # scored by a batch that did not explain it
                one = msg.memo[_SCORED] = model.scored_one(text)
            words = model.explain_one(one, p.label, p.top)
        shown = ", ".join(words) if words else msg.text[:80]
        yield Hit(evidence=_evidence(msg, words), strength=score, vars={"score": f"{score:.2f}", "words": shown})

    def batch(msgs: list[MessageView]) -> tuple[Any, Any] | None:
        """Score ``msgs`` into their memos; (the model, its scored rows) for :func:`explain_batch`."""
        try:
            model = lazy.get()
        except Exception:  # noqa: BLE001 - remembered by the lazy loader; every message's matcher raises it
            return None
        scored = model.scored([m.norm.text[:p.max_chars] for m in msgs])
        for msg, proba in zip(msgs, scored.proba):
            msg.memo.setdefault("models", {})["text"] = _entry(model, proba)
        return model, scored

    def explain_batch(msgs: list[MessageView], model: Any, scored: Any) -> None:
        """Explain, from the batch's rows, the messages of ``msgs`` this rule fires on (none other)."""
        explained.words = {}
        try:
            if lazy.get() is not model:  # another card: each message is explained on its own
                return
        except Exception:  # noqa: BLE001 - remembered by the lazy loader; every message's matcher raises it
            return
        entries = [m.memo["models"]["text"] for m in msgs]
        rows = [i for i, (m, e) in enumerate(zip(msgs, entries)) if fires(e, m.norm.text[:p.max_chars])]
        words = model.explain(scored, rows, p.label, p.top) if rows else []
        explained.words = {id(entries[i]): (entries[i], w) for i, w in zip(rows, words)}

    run.score_batch = batch  # type: ignore[attr-defined]
    run.explain_batch = explain_batch  # type: ignore[attr-defined]
    return run


class UrlModelParams(_Params):
    threshold: float | None = Field(None, ge=0, le=1, description="Fire at this probability (default: the card's).")
    top: int = Field(3, ge=1, le=10, description="How many contributing host parts to show as evidence.")
    skip_domains: list[str] = Field(
        default_factory=list,
        description="Domains (and their subdomains) never scored: platforms whose service hosts look odd to the "
        "model (chat.whatsapp.com) and whose links other rules judge.",
    )


@matcher("url_model", "url", UrlModelParams)
def _build_url_model(p: UrlModelParams, res: Resources) -> LinkFn:
    """The URL model's phishing probability of the host reaches its threshold (never on official or IP hosts,
    nor on ``skip_domains``)."""
    card = _card(res, "url")
    thr = _threshold(card, "phishing", p.threshold)
    lazy = _Lazy(card)
    skip = DomainList("url_model.skip_domains", dict.fromkeys(p.skip_domains, 1.0))

    def run(link: LinkView) -> Iterator[Hit]:
        h = link.host
        if link.official_brand is not None or h.ip is not None or not h.ascii or "." not in h.ascii:
            return
        if skip.lookup(h.ascii) is not None:
            return
        from ..classifier.features import host_document

        model = lazy.get()
        doc = host_document(h.ascii)
        score = model.proba_one(doc)[1]  # one host alone: plain Python (LinearModel.scored_one)
        if score >= thr:
            parts = ", ".join(model.top_ngrams(doc, "1", p.top)) or h.unicode
            yield Hit(
                evidence=h.unicode,
                strength=score,
                vars={"host": h.unicode, "score": f"{score:.2f}", "version": model.version, "parts": parts},
            )

    return run
