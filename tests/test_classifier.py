"""The classifiers: features match scikit-learn's, numpy serving equals the Pipeline, artifacts are checked.

Models here are tiny ones trained in-session on the project's own corpus; no exact score of the shipped
model is asserted (tests/test_classifier_shipped.py checks the shipped models' behaviour and figures).
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from phishguard.classifier.card import ModelIntegrityError, read_card, write_card
from phishguard.classifier.features import (
    HOST_BLOCKS,
    TEXT_BLOCKS,
    char_wb_ngrams,
    host_document,
    text_document,
    word_ngrams,
)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "chat_corpus"

SPAM = [
    "Удалённая работа, доход от {n} рублей в день, пиши в лс",
    "Заработок на крипте от {n}$ в неделю, сигналы бесплатно, вступай в канал",
    "Нужны люди на подработку, {n} в день, без опыта, пиши плюс",
    "FREE entry! Win {n} pounds, text WIN now",
    "Earn {n}$ daily trading crypto, join our channel",
    "Набор в команду, пассивный доход {n} в месяц, пиши в личку",
]


def _rows(name: str, n: int) -> list[tuple[str, str]]:
    with (CORPUS / name).open(encoding="utf-8", newline="") as f:
        return [(r["text"], r["label"]) for r in csv.DictReader(f, delimiter="\t")][:n]


@pytest.fixture(scope="module")
def fixture_files(tmp_path_factory) -> dict[str, Path]:
    """Small labelled TSV/JSONL files: project corpus rows + templated spam."""
    d = tmp_path_factory.mktemp("data")
    rng = random.Random(1)
    spam = [(t.format(n=rng.randint(100, 9000)), "spam") for t in SPAM for _ in range(6)]
    (d / "spam.jsonl").write_text(
        "\n".join(f'{{"text": "{t}", "label": "{lab}", "source": "review"}}' for t, lab in spam), encoding="utf-8"
    )
    with (d / "chat.tsv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["label", "text"])
        w.writerows((lab, t) for t, lab in _rows("scam.tsv", 150) + _rows("legit.tsv", 200))
    return {"tsv": d / "chat.tsv", "jsonl": d / "spam.jsonl", "dir": d}


@pytest.fixture(scope="module")
def tiny(fixture_files, tmp_path_factory):
    """A tiny text model written like the shipped one (skops + npz + card)."""
    from phishguard.classifier.config import TextConfig
    from phishguard.classifier.train import train_text

    out = tmp_path_factory.mktemp("models")
    cfg = TextConfig(n_features=2**12, corpus=[fixture_files["tsv"], fixture_files["jsonl"]], holdout=CORPUS / "holdout.tsv")
    card = train_text(cfg, seed=7, out_dir=out, log=lambda m: None)
    return out, card


# --------------------------------------------------------------------------- features = sklearn's


TEXTS = [
    "Получите оплату по ссылке avito-pay.top/r/1",
    "  двойные   пробелы\tи\nстроки ",
    "I paid, receive your £20 here: http://x.co",
    "a b",
    "ёжик 😀 café ＡＶＩＴＯ",
    "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_analyzers_make_sklearns_ngrams(text):
    from sklearn.feature_extraction.text import HashingVectorizer

    for spec in TEXT_BLOCKS + HOST_BLOCKS:
        kw = {"token_pattern": spec.token_pattern} if spec.token_pattern else {}
        ref = HashingVectorizer(analyzer=spec.analyzer, ngram_range=spec.ngram_range, **kw).build_analyzer()
        doc = text.lower()
        if spec.analyzer == "char_wb":
            ours = char_wb_ngrams(doc, *spec.ngram_range)
        else:
            import re

            ours = word_ngrams(doc, *spec.ngram_range, re.compile(spec.token_pattern or r"(?u)\b\w\w+\b"))
        assert Counter(ours) == Counter(ref(doc))


def test_mmh3_columns_equal_feature_hasher():
    from sklearn.feature_extraction.text import HashingVectorizer

    from phishguard.classifier.serve import _index

    grams = char_wb_ngrams("получите оплату avito-pay.top 😀 ü", 1, 5)
    hv = HashingVectorizer(analyzer=lambda _: grams, n_features=2**12, alternate_sign=False, norm=None)
    ref = Counter(hv.transform(["x"]).indices.tolist())
    assert set(ref) == {_index(g, 2**12) for g in grams}


def test_host_document_uses_the_host_only():
    assert host_document("WWW.Allegro-PL.oferta-12.xyz.").startswith("allegro-pl.oferta-12.xyz ~len:")
    assert "/" not in host_document("example.com")


# --------------------------------------------------------------------------- training and serving


def test_tiny_text_model_card(tiny):
    out, card = tiny
    assert card["classes"] == ["ham", "scam", "spam"]
    assert set(card["thresholds"]) == {"scam", "spam"}
    assert {s["path"].rsplit("/", 1)[-1] for s in card["data_sources"]} >= {"chat.tsv", "spam.jsonl", "holdout.tsv"}
    assert all(len(s["sha256"]) == 64 for s in card["data_sources"])
    assert card["libraries"]["scikit-learn"] and card["metrics"]["holdout"]["n"] == 80
    assert read_card(out / "text.json")["artifacts"]["npz"]["sha256"] == card["artifacts"]["npz"]["sha256"]


def test_numpy_path_equals_the_pipeline(tiny):
    from phishguard.classifier.persist import load_pipeline
    from phishguard.classifier.serve import load_numpy_model

    out, _ = tiny
    pipe = load_pipeline(out / "text.json")
    model = load_numpy_model(out / "text.json")
    docs = [text_document(t) for t, _ in _rows("holdout.tsv", 80)] + [text_document(t) for t in TEXTS]
    np.testing.assert_allclose(model.predict_proba(docs), pipe.predict_proba(docs), rtol=0, atol=1e-12)
    one = [model.predict_proba([d])[0] for d in docs[:10]]  # batch of one = same rows
    np.testing.assert_allclose(np.array(one), model.predict_proba(docs[:10]), atol=1e-12)


# repeated words and n-grams (the corrections of proba_one), nothing to read, one letter, a long run
ODD_DOCS = ["", "   ", "!!!", "а", "оплата оплата оплата", "ааааааааааааааааа", "Оплата ОПЛАТА оплата, оплата!",
            "карта " * 300, "x" * 2000, "ёжик в тумане https://example.com/pay?x=1 ёжик"]


def test_one_message_path_equals_the_pipeline(tiny):
    """proba_one (per-word sums plus corrections for repeated columns, plain Python) gives the pipeline's
    probabilities, repeated words and n-grams included."""
    from phishguard.classifier.persist import load_pipeline
    from phishguard.classifier.serve import load_numpy_model

    out, _ = tiny
    pipe = load_pipeline(out / "text.json")
    model = load_numpy_model(out / "text.json")
    docs = [text_document(t) for t, _ in _rows("holdout.tsv", 80)] + [text_document(t) for t in TEXTS] + ODD_DOCS
    one = np.array([model.proba_one(d) for d in docs])
    np.testing.assert_allclose(one, pipe.predict_proba(docs), rtol=0, atol=1e-12)
    again = np.array([model.proba_one(d) for d in docs])  # from the cached words this time
    np.testing.assert_array_equal(again, one)


def test_numpy_path_equals_the_host_pipeline(tmp_path):
    from phishguard.classifier.export import export_arrays
    from phishguard.classifier.pipelines import build_pipeline
    from phishguard.classifier.serve import LinearModel

    bad = [f"{b}-{w}{i}.{t}" for b in ("olx", "allegro", "inpost") for w in ("pay", "oferta") for i in range(4)
           for t in ("xyz", "top")]
    good = [f"{w}{i}.{t}" for w in ("news", "shop", "city", "garden", "music", "bank") for i in range(8)
            for t in ("com", "ru")]
    docs = [host_document(h) for h in bad + good]
    y = [1] * len(bad) + [0] * len(good)
    pipe = build_pipeline(HOST_BLOCKS, 2**12, 1.0, seed=3).fit(docs, y)
    model = LinearModel(*export_arrays(pipe))
    test = [host_document(h) for h in ("olx-pay77.shop", "example.org", "xn--80ak6aa92e.com")]
    np.testing.assert_allclose(model.predict_proba(test), pipe.predict_proba(test), atol=1e-12)
    one = np.array([model.proba_one(d) for d in test + docs[:5]])  # two classes, one estimator output
    np.testing.assert_allclose(one, pipe.predict_proba(test + docs[:5]), atol=1e-12)
    assert model.top_ngrams(host_document("allegro-oferta9.xyz"), "1", 2)


def test_top_terms_are_words_of_the_message(tiny):
    from phishguard.classifier.serve import load_numpy_model

    model = load_numpy_model(tiny[0] / "text.json")
    doc = text_document("Получите оплату по ссылке, введите данные карты")
    words = model.top_terms(doc, "scam", 3)
    assert words and all(w in doc for w in words)


# --------------------------------------------------------------------------- integrity


def _copy_models(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("kind", ["npz", "skops"])
def test_tampered_artifact_is_refused(tiny, tmp_path, kind):
    from phishguard.classifier.persist import load_pipeline
    from phishguard.classifier.serve import load_numpy_model

    d = _copy_models(tiny[0], tmp_path / "m")
    art = d / f"text.{kind}"
    data = bytearray(art.read_bytes())
    data[len(data) // 2] ^= 0x01
    art.write_bytes(bytes(data))
    load = load_numpy_model if kind == "npz" else load_pipeline
    with pytest.raises(ModelIntegrityError, match="does not match its card"):
        load(d / "text.json")


def test_card_cannot_point_outside_its_folder(tiny, tmp_path):
    from phishguard.classifier.serve import load_numpy_model

    d = _copy_models(tiny[0], tmp_path / "m")
    card = read_card(d / "text.json")
    card["artifacts"]["npz"]["file"] = "../text.npz"
    write_card(d / "text.json", card)
    with pytest.raises(ModelIntegrityError, match="plain file name"):
        load_numpy_model(d / "text.json")


def test_untrusted_types_are_refused(tiny, tmp_path, monkeypatch):
    from phishguard.classifier import persist

    d = _copy_models(tiny[0], tmp_path / "m")
    monkeypatch.setattr(persist, "TRUSTED_TYPES", [t for t in persist.TRUSTED_TYPES if "_SigmoidCalibration" not in t])
    with pytest.raises(ModelIntegrityError, match="not trusted: sklearn.calibration._SigmoidCalibration"):
        persist.load_pipeline(d / "text.json")


def test_npz_has_no_objects(tiny):
    with np.load(tiny[0] / "text.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)


# --------------------------------------------------------------------------- matchers through the Scanner


def test_matchers_through_scanner_with_a_tampered_model_degrade(tiny, tmp_path):
    from phishguard.ruleset import model_matchers
    from phishguard.scanner import Scanner
    from phishguard.settings import Settings

    d = _copy_models(tiny[0], tmp_path / "m")
    import shutil

    shutil.copy(ROOT / "models" / "url.json", d / "url.json")
    shutil.copy(ROOT / "models" / "url.npz", d / "url.npz")
    (d / "text.npz").write_bytes((d / "text.npz").read_bytes() + b"x")
    model_matchers.set_models_dir(d)
    try:
        s = Scanner(Settings(lang="en", rule_overrides={r: {"enabled": True} for r in ("model.text-scam", "model.url")}))
    finally:
        model_matchers.set_models_dir(None)
    v = s.scan("Здравствуйте, камера ещё продаётся?")
    assert "degraded.rule-failed" in {r.rule for r in v.reasons}
    assert "model.text-scam" in next(r for r in v.reasons if r.rule == "degraded.rule-failed").evidence


def test_tiny_model_scores_through_scanner(tiny, tmp_path):
    import shutil

    from phishguard.ruleset import MessageView, model_matchers
    from phishguard.ruleset.engine import run_text_rules
    from phishguard.normalize import normalize_text
    from phishguard.scanner import Scanner
    from phishguard.settings import Settings

    d = _copy_models(tiny[0], tmp_path / "m")
    for f in ("url.json", "url.npz"):
        shutil.copy(ROOT / "models" / f, d / f)
    model_matchers.set_models_dir(d)
    try:
        s = Scanner(Settings(lang="en", rule_overrides={r: {"enabled": True} for r in ("model.text-scam", "model.url")}))
    finally:
        model_matchers.set_models_dir(None)
    text = "Здравствуйте! Я оплатил ваш товар, получите деньги по ссылке и введите данные карты"
    msg = MessageView(text, normalize_text(text))
    found = run_text_rules(s.ruleset, msg)
    entry = msg.memo["models"]["text"]
    assert 0.0 <= entry["score"] <= 1.0 and entry["version"].startswith("text-")
    hit = [f for f in found if f.rule == "model.text-scam"]
    if entry["score"] >= read_card(d / "text.json")["thresholds"]["scam"]:
        assert hit and all(w.strip() in msg.norm.text for w in hit[0].evidence.split(","))
