"""Model matchers: ``text_model`` (scope text) and ``url_model`` (scope url) score with the shipped models.

They use the numpy export (:mod:`phishguard.classifier.serve`), not scikit-learn, so the scanner starts
fast and small. A model is loaded lazily, on the first message that needs it, once per folder and card
(shared by the rules that use it), after its sha256 is checked against its card; a refused or missing
file makes every call fail with the same clear error, which the engine reports as a degraded verdict.

The raw score and model version go to ``msg.memo["models"]`` (``{"text": {"score", "version"}}``) so the
scanner can copy them into ``Verdict.models``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field

from .matchers import Hit, LinkFn, LinkView, MessageView, Resources, TextFn, _Params, matcher

__all__ = ["TextModelParams", "UrlModelParams", "models_dir", "set_models_dir", "loaded_model"]

_DIR: Path | None = None
_LOCK = threading.Lock()
_LOADED: dict[tuple[str, float], Any] = {}


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
    top: int = Field(3, ge=1, le=10, description="How many contributing words to show as evidence.")


@matcher("text_model", "text", TextModelParams)
def _build_text_model(p: TextModelParams, res: Resources) -> TextFn:
    """The text model's probability of ``label`` reaches its threshold; evidence: the words that pushed it."""
    card = _card(res, "text")
    thr = _threshold(card, p.label, p.threshold)
    lazy = _Lazy(card)

    def run(msg: MessageView) -> Iterator[Hit]:
        model = lazy.get()
        memo = msg.memo.setdefault("models", {})
        entry = memo.get("text")
        if entry is None:
            doc = msg.norm.text
            proba = model.predict_proba([doc])[0]
            entry = memo["text"] = {
                "version": model.version,
                **{c: round(float(v), 6) for c, v in zip(model.classes, proba)},
            }
            entry["score"] = entry.get("scam", 0.0)
        score = float(entry.get(p.label, 0.0))
        if score >= thr:
            words = model.top_terms(msg.norm.text, p.label, p.top)
            ev = ", ".join(words) if words else msg.norm.text[:80]
            yield Hit(evidence=ev, strength=score, vars={"score": f"{score:.2f}", "words": ev})

    return run


class UrlModelParams(_Params):
    threshold: float | None = Field(None, ge=0, le=1, description="Fire at this probability (default: the card's).")
    top: int = Field(3, ge=1, le=10, description="How many contributing host parts to show as evidence.")


@matcher("url_model", "url", UrlModelParams)
def _build_url_model(p: UrlModelParams, res: Resources) -> LinkFn:
    """The URL model's phishing probability of the host reaches its threshold (never on official or IP hosts)."""
    card = _card(res, "url")
    thr = _threshold(card, "phishing", p.threshold)
    lazy = _Lazy(card)

    def run(link: LinkView) -> Iterator[Hit]:
        h = link.host
        if link.official_brand is not None or h.ip is not None or not h.ascii or "." not in h.ascii:
            return
        from ..classifier.features import host_document

        model = lazy.get()
        doc = host_document(h.ascii)
        score = float(model.predict_proba([doc])[0][1])
        if score >= thr:
            parts = model.top_ngrams(doc, "1", p.top)
            yield Hit(
                evidence=", ".join(parts) or h.unicode,
                strength=score,
                vars={"host": h.unicode, "score": f"{score:.2f}", "version": model.version, "parts": ", ".join(parts)},
            )

    return run
