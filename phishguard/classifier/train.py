"""``phishguard train``: rebuild the text and URL models from ``train.yaml``, deterministically.

Each model is fitted twice where thresholds are chosen: once without a validation share (to set the
threshold at a fixed false-positive rate), then on everything. Both are written as ``models/<name>.skops``
(the Pipeline, via skops), ``models/<name>.npz`` (the numpy serving export) and ``models/<name>.json``
(the card: sources with sha256, library versions, metrics, thresholds, artifact sha256).
"""

from __future__ import annotations

import datetime as dt
import json
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .card import sha256_file, write_card
from .config import TextConfig, TrainConfig, UrlConfig
from .data import Rows, Source, dedupe, read_hosts, read_labelled, split_key
from .evaluate import binary_report, recall_at_fpr, threshold_at_fpr
from .features import HOST_BLOCKS, TEXT_BLOCKS, host_document, text_document

__all__ = ["export_all", "export_model", "train_all", "train_text", "train_url", "write_model", "sms_benchmark", "PAPER_ROW"]

Log = Callable[[str], None]

#: Almeida, Gómez Hidalgo, Yamakami (DocEng 2011), Table 4: their best result on this split (SVM).
PAPER_ROW = {"method": "Almeida et al. 2011, SVM (tok1)", "accuracy": 0.9764, "mcc": 0.893}

#: Subdomains real sites use; some benign training hosts get one, so "has a subdomain" is not a phishing tell.
COMMON_SUBDOMAINS = ("m", "shop", "mail", "app", "api", "blog", "news", "static", "cdn", "help", "support",
                     "my", "en", "ru", "login", "account", "pay", "store", "docs", "id")


def _versions() -> dict[str, str]:
    import mmh3
    import sklearn
    import skops

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "numpy": np.__version__,
        "mmh3": getattr(mmh3, "__version__", "?"),
    }


def write_model(pipe, name: str, out_dir: Path, card: dict[str, Any], sample_docs: list[str]) -> dict[str, Any]:
    """Save the Pipeline (skops) and its numpy export, check both score ``sample_docs`` alike, write the card."""
    from .export import export_arrays, save_npz
    from .persist import save_pipeline
    from .serve import LinearModel

    out_dir.mkdir(parents=True, exist_ok=True)
    skops_path, npz_path = out_dir / f"{name}.skops", out_dir / f"{name}.npz"
    save_pipeline(pipe, skops_path)
    params, arrays = export_arrays(pipe)
    save_npz(npz_path, params, arrays)
    diff = float(np.max(np.abs(LinearModel(params, arrays).predict_proba(sample_docs) - pipe.predict_proba(sample_docs))))
    if diff > 1e-9:
        raise RuntimeError(f"{name}: numpy export differs from the Pipeline by {diff}")
    card = {
        "name": name,
        **card,
        "classes": params["classes"],
        "numpy_vs_sklearn_max_abs_diff": diff,
        "artifacts": {
            "skops": {"file": skops_path.name, "sha256": sha256_file(skops_path), "bytes": skops_path.stat().st_size},
            "npz": {"file": npz_path.name, "sha256": sha256_file(npz_path), "bytes": npz_path.stat().st_size},
        },
    }
    write_card(out_dir / f"{name}.json", card)
    return card


def export_model(name: str, out_dir: Path, sample_docs: list[str]) -> dict[str, Any]:
    """Write ``<name>.npz`` again from the ``<name>.skops`` Pipeline beside it, without training: the numpy
    export (:func:`~phishguard.classifier.export.export_arrays`) in the current on-disk layout
    (:func:`~phishguard.classifier.export.save_npz`). Refused unless it scores ``sample_docs`` as the Pipeline
    does and, when the old ``.npz`` still matches its card, holds exactly the same arrays. The card keeps
    everything but its npz artifact entry (sha256, bytes)."""
    from .card import read_card, verified_path
    from .export import export_arrays, save_npz
    from .persist import load_pipeline
    from .serve import LinearModel, decode_arrays

    card_path = out_dir / f"{name}.json"
    card = read_card(card_path)
    pipe = load_pipeline(card_path)  # sha256-checked against the card
    params, arrays = export_arrays(pipe)
    old = verified_path(card_path, "npz")
    with np.load(old, allow_pickle=False) as z:
        before = decode_arrays({k: z[k] for k in z.files})
    if bytes(before.pop("params_json")).decode("utf-8") != json.dumps(params, sort_keys=True) or sorted(before) != sorted(
        arrays
    ) or not all(np.array_equal(before[k], arrays[k]) and before[k].dtype == arrays[k].dtype for k in arrays):
        raise RuntimeError(f"{name}: the Pipeline's export differs from {old.name}: retrain instead")
    diff = float(np.max(np.abs(LinearModel(params, arrays).predict_proba(sample_docs) - pipe.predict_proba(sample_docs))))
    if diff > 1e-9:
        raise RuntimeError(f"{name}: numpy export differs from the Pipeline by {diff}")
    npz_path = out_dir / f"{name}.npz"
    save_npz(npz_path, params, arrays)
    card["artifacts"]["npz"] = {"file": npz_path.name, "sha256": sha256_file(npz_path), "bytes": npz_path.stat().st_size}
    write_card(card_path, card)
    return card


def export_all(cfg: TrainConfig, only: str | None = None) -> dict[str, dict[str, Any]]:
    """:func:`export_model` for the configured models (``only``: "text" or "url"), checked on a sample of their
    training data (the first 400 messages of the text corpus; 400 phishing hosts)."""
    out: dict[str, dict[str, Any]] = {}
    if cfg.text is not None and only in (None, "text"):
        texts = [t for p in cfg.text.corpus for t in read_labelled(p).texts[:200]]
        out["text"] = export_model("text", cfg.out_dir, [text_document(t) for t in texts[:400]])
    if cfg.url is not None and only in (None, "url"):
        src = cfg.url.phishing[0]
        hosts = read_hosts(src.path, src.column, src.date_column)[0]
        out["url"] = export_model("url", cfg.out_dir, [host_document(h) for h in hosts[:200] + hosts[-200:]])
    return out


def _base_card(cfg_seed: int, kind: str, sources: list[Source], extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": f"{kind}-{dt.date.today().isoformat()}",
        "trained_on": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "seed": cfg_seed,
        "libraries": _versions(),
        "data_sources": [s.__dict__ for s in sources],
        **extra,
    }


# --------------------------------------------------------------------------- text model


def sms_benchmark(path: Path, cfg: TextConfig, seed: int) -> dict[str, Any]:
    """The DocEng 2011 protocol: first 30% of the file trains, the remaining 70% tests (file order)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import accuracy_score, matthews_corrcoef
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.svm import LinearSVC

    from .pipelines import build_pipeline

    rows = read_labelled(path)
    texts, y = rows.texts, np.array([lab == "spam" for lab in rows.labels])
    k = int(round(0.3 * len(texts)))
    docs = [text_document(t) for t in texts]
    ours = build_pipeline(TEXT_BLOCKS, cfg.n_features, cfg.C, seed)
    ours.fit(docs[:k], y[:k])
    pred = ours.predict(docs[k:])
    base = Pipeline([
        ("f", FeatureUnion([
            ("c", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
            ("w", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
        ])),
        ("svm", LinearSVC(random_state=seed)),
    ]).fit(texts[:k], y[:k])
    bpred = base.predict(texts[k:])
    return {
        "protocol": f"first 30% train ({k}), remaining 70% test ({len(texts) - k}), file order",
        "ours": {"method": "shipped text pipeline (binary ham/spam)",
                 "accuracy": round(float(accuracy_score(y[k:], pred)), 4),
                 "mcc": round(float(matthews_corrcoef(y[k:], pred)), 4)},
        "baseline": {"method": "char_wb 2-5 + word 1-2 TF-IDF, LinearSVC",
                     "accuracy": round(float(accuracy_score(y[k:], bpred)), 4),
                     "mcc": round(float(matthews_corrcoef(y[k:], bpred)), 4)},
        "paper": PAPER_ROW,
    }


def _read_text_data(cfg: TextConfig) -> tuple[Rows, list[str], list[Source]]:
    """(training rows, held-out real-chat ham, sources) — holdout texts never train."""
    rows = Rows()
    for p in cfg.corpus:
        rows.extend(read_labelled(p))
    held: list[str] = []
    if cfg.real_chat is not None:
        share = cfg.real_chat.test_share
        rows.extend(read_labelled(
            cfg.real_chat.path,
            keep=lambda t, c: c != "ham" or split_key(t, "real-chat") >= share,
            note=f"ham with split_key >= {share} trains; the rest is the false-positive test set",
        ))
        held = read_labelled(cfg.real_chat.path, keep=lambda t, c: c == "ham" and split_key(t, "real-chat") < share).texts
    exclude = set(held)
    sources = list(rows.sources)
    if cfg.holdout is not None and cfg.holdout.is_file():
        h = read_labelled(cfg.holdout, note="evaluation only")
        exclude |= set(h.texts)
        sources.append(h.sources[0])
    texts, labels = dedupe(*zip(*[(t, lab) for t, lab in zip(rows.texts, rows.labels) if t not in exclude]))
    return Rows(texts, labels, rows.sources), held, sources


def _thresholds(proba: np.ndarray, classes: list[str], labels: np.ndarray, cfg: TextConfig) -> dict[str, float]:
    """Per non-ham class: the score that flags at most ``max_ham_fp`` of the other validation rows."""
    out = {}
    for i, c in enumerate(classes):
        if c == "ham":
            continue
        neg = proba[labels == "ham", i] if c == "spam" else proba[labels != c, i]
        out[c] = round(max(cfg.min_threshold, threshold_at_fpr(neg, cfg.max_ham_fp)), 6)
    return out


def train_text(cfg: TextConfig, seed: int, out_dir: Path, log: Log = print) -> dict[str, Any]:
    from .pipelines import build_pipeline

    rows, held_ham, sources = _read_text_data(cfg)
    docs = [text_document(t) for t in rows.texts]
    y = np.array(rows.labels)
    counts = {c: int((y == c).sum()) for c in sorted(set(rows.labels))}
    log(f"text: {len(docs)} training rows {counts}; {len(held_ham)} real-chat ham held out")
    val = np.array([split_key(t, "validation") < cfg.validation_share for t in rows.texts])
    tr_docs = [d for d, v in zip(docs, val) if not v]
    pipe = build_pipeline(TEXT_BLOCKS, cfg.n_features, cfg.C, seed).fit(tr_docs, y[~val])
    classes = [str(c) for c in pipe.classes_]
    val_docs = [d for d, v in zip(docs, val) if v]
    val_proba = pipe.predict_proba(val_docs)
    thresholds = _thresholds(val_proba, classes, y[val], cfg)
    log(f"text: thresholds from validation ({int(val.sum())} rows): {thresholds}")
    metrics: dict[str, Any] = {
        "validation": {c: binary_report(y[val] == c, val_proba[:, i], thresholds[c])
                       for i, c in enumerate(classes) if c != "ham"},
    }
    pipe = build_pipeline(TEXT_BLOCKS, cfg.n_features, cfg.C, seed).fit(docs, y)
    scam_i = classes.index("scam")
    if held_ham:
        p = pipe.predict_proba([text_document(t) for t in held_ham])
        metrics["real_chat_ham_fp_model_only"] = {
            c: {"n": len(held_ham), "fp": int((p[:, i] >= thresholds[c]).sum()),
                "fp_rate": round(float((p[:, i] >= thresholds[c]).mean()), 5)}
            for i, c in enumerate(classes) if c != "ham"
        }
    if cfg.holdout is not None and cfg.holdout.is_file():
        h = read_labelled(cfg.holdout)
        p = pipe.predict_proba([text_document(t) for t in h.texts])[:, scam_i]
        metrics["holdout"] = binary_report(np.array(h.labels) == "scam", p, thresholds["scam"])
    if cfg.sms_benchmark is not None and cfg.sms_benchmark.is_file():
        metrics["sms_spam_collection"] = sms_benchmark(cfg.sms_benchmark, cfg, seed)
        log(f"text: SMS benchmark {metrics['sms_spam_collection']}")
    card = _base_card(seed, "text", sources, {
        "task": "marketplace chat message -> ham / spam / scam (spam is never fraud alone)",
        "input": "phishguard.classifier.features.text_document (normalize_text(s).text)",
        "pipeline": f"char_wb 1-5 + word 1-2 hashed ({cfg.n_features} each), sublinear tf-idf, "
                    f"LinearSVC(C={cfg.C}) + sigmoid calibration (5-fold, ensemble=False)",
        "training_rows": counts,
        "thresholds": thresholds,
        "metrics": metrics,
        "caveats": ["Marketplace-scam texts are written by the project (tests/data/chat_corpus): "
                    "there is no public corpus of real ones; real-data figures are for spam and ham."],
    })
    return write_model(pipe, "text", out_dir, card, docs[:200] + val_docs[:200])


# --------------------------------------------------------------------------- URL model


def _url_data(cfg: UrlConfig, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    sources = []
    ph_train: list[str] = []
    ph_test: list[str] = []
    for f in cfg.phishing:
        hosts, dates, src = read_hosts(f.path, f.column, f.date_column)
        sources.append(src)
        for h, d in zip(hosts, dates):
            (ph_test if f.date_column and d[:10] >= cfg.split_date else ph_train).append(h)
    ph_train = list(dict.fromkeys(ph_train))
    seen = set(ph_train)
    ph_test = [h for h in dict.fromkeys(ph_test) if h not in seen]
    bhosts, _, bsrc = read_hosts(cfg.benign.path, cfg.benign.column)
    sources.append(bsrc)
    phish_all = seen | set(ph_test)
    bhosts = [h for h in dict.fromkeys(bhosts) if h not in phish_all]
    test = [h for h in bhosts if split_key(h, "benign-test") < cfg.benign_test_share]
    pool = [h for h in bhosts if split_key(h, "benign-test") >= cfg.benign_test_share]
    order = rng.permutation(len(pool))
    val = [pool[i] for i in order[:cfg.benign_validation]]
    train = [pool[i] for i in order[cfg.benign_validation:cfg.benign_validation + cfg.benign_train]]
    aug = rng.random(len(train)) < cfg.subdomain_share
    subs = rng.integers(0, len(COMMON_SUBDOMAINS), len(train))
    train = [f"{COMMON_SUBDOMAINS[s]}.{h}" if a else h for h, a, s in zip(train, aug, subs)]
    return {"ph_train": ph_train, "ph_test": ph_test, "b_train": train, "b_val": val, "b_test": test, "sources": sources}


def _naive_baseline(d: dict[str, Any], seed: int) -> dict[str, float]:
    """Character 1-3-grams of the raw host, hashed, logistic regression: what a first attempt would do."""
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    X = d["ph_train"] + d["b_train"]
    y = np.r_[np.ones(len(d["ph_train"])), np.zeros(len(d["b_train"]))]
    pipe = Pipeline([("hash", HashingVectorizer(analyzer="char", ngram_range=(1, 3), n_features=2**18)),
                     ("lr", LogisticRegression(solver="liblinear", random_state=seed))]).fit(X, y)
    return recall_at_fpr(pipe.predict_proba(d["ph_test"])[:, 1], pipe.predict_proba(d["b_test"])[:, 1])


def train_url(cfg: UrlConfig, seed: int, out_dir: Path, log: Log = print) -> dict[str, Any]:
    from .pipelines import build_pipeline

    d = _url_data(cfg, seed)
    log(f"url: phishing train {len(d['ph_train'])}, test (first seen >= {cfg.split_date}) {len(d['ph_test'])}; "
        f"benign train {len(d['b_train'])}, validation {len(d['b_val'])}, test {len(d['b_test'])}")
    X = [host_document(h) for h in d["ph_train"] + d["b_train"]]
    y = np.r_[np.ones(len(d["ph_train"]), dtype=int), np.zeros(len(d["b_train"]), dtype=int)]
    pipe = build_pipeline(HOST_BLOCKS, cfg.n_features, cfg.C, seed).fit(X, y)
    score = lambda hosts: pipe.predict_proba([host_document(h) for h in hosts])[:, 1]  # noqa: E731
    s_ph, s_b, s_val = score(d["ph_test"]), score(d["b_test"]), score(d["b_val"])
    thr = threshold_at_fpr(s_val, cfg.threshold_fpr)
    ours = recall_at_fpr(s_ph, s_b)
    log(f"url: recall at FPR on held-back benign: {ours}; threshold {thr:.4f}")
    base = _naive_baseline(d, seed)
    log(f"url: naive char n-gram baseline: {base}")
    yt = np.r_[np.ones(len(s_ph)), np.zeros(len(s_b))]
    metrics = {
        "test": f"CERT.PL hosts first seen >= {cfg.split_date} (not seen in training) vs held-back Tranco domains",
        "recall_at_fpr": ours,
        "baseline_recall_at_fpr": base,
        "at_threshold": binary_report(yt, np.r_[s_ph, s_b], thr),
    }
    card = _base_card(seed, "url", d["sources"], {
        "task": "host name -> phishing probability (hosts only: never the path)",
        "input": "phishing.classifier.features.host_document(host)",
        "pipeline": f"char_wb 3-5 of the host + structural tokens, hashed ({cfg.n_features} each), sublinear "
                    f"tf-idf, LinearSVC(C={cfg.C}) + sigmoid calibration (5-fold, ensemble=False)",
        "training_rows": {"phishing": len(d["ph_train"]), "benign": len(d["b_train"])},
        "thresholds": {"phishing": round(thr, 6)},
        "threshold_rule": f"{cfg.threshold_fpr:.1%} false positives on {len(d['b_val'])} validation Tranco domains",
        "metrics": metrics,
        "caveats": ["Trained only on CERT.PL rows first seen before the split date (the test figures are for "
                    "that model); Tranco is popular registrable domains, not all benign hosts."],
    })
    return write_model(pipe, "url", out_dir, card, X[:200] + X[-200:])


def train_all(cfg: TrainConfig, log: Log = print, only: str | None = None) -> dict[str, dict[str, Any]]:
    """Train the configured models (``only``: "text" or "url"); returns their cards."""
    out: dict[str, dict[str, Any]] = {}
    if cfg.text is not None and only in (None, "text"):
        out["text"] = train_text(cfg.text, cfg.seed, cfg.out_dir, log)
    if cfg.url is not None and only in (None, "url"):
        out["url"] = train_url(cfg.url, cfg.seed, cfg.out_dir, log)
    return out
