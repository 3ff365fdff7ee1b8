"""The model rules in the scanner: the ``yields_to`` verdict policy, batch scoring in ``scan_many``, what the
text and URL models may and may not judge, and the validation of ``yields_to``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from phishguard.resources import shipped_dir
from phishguard.ruleset import RuleLoadError
from phishguard.ruleset.model_matchers import words_outside_links

CARD_REQUEST = "Обратите внимание: на балансе карты должна быть сумма не меньше стоимости товара"


def rules_of(v) -> set[str]:
    return {r.rule for r in v.reasons}


def test_model_rules_ship_enabled_with_their_yields(scanner):
    ids = {r.id for r in scanner.ruleset.rules}
    assert {"model.text-scam", "model.text-spam", "model.url"} <= ids
    assert scanner.policy.yields["model.text-scam"] == {"card_request", "scam_script"}


def test_a_card_request_without_a_link_stays_suspicious_with_the_model_beside_it(scanner, make_scanner):
    v = scanner.scan(CARD_REQUEST)
    assert {"card.balance-request", "model.text-scam"} <= rules_of(v)
    assert v.verdict == "suspicious"
    rules_only = make_scanner(rule_overrides={"model.text-scam": {"enabled": False}}).scan(CARD_REQUEST)
    assert v.score == rules_only.score


def test_evidence_is_a_word_as_written_and_the_message_names_the_words(scanner):
    text = "Здравствуйте, я ОПЛАТИЛ ваш товар, для получения средств перейдите по ссылке и введите данные кaрты"
    (found,) = [r for r in scanner.scan(text).reasons if r.rule == "model.text-scam"]
    assert found.evidence in text and found.evidence.isalpha()
    assert "words:" in found.message["en"]


@pytest.mark.parametrize("text", ["https://partner.top/track/1", "https://bit.ly/3xyz", "10000", "Я выиграл"])
def test_the_text_model_does_not_judge_messages_without_words(scanner, text):
    assert not {"model.text-scam", "model.text-spam"} & rules_of(scanner.scan(text))


def test_words_outside_links():
    assert words_outside_links("Смотрите https://www.avito.ru/item/1 или avito.ru/x") == 2
    assert words_outside_links("www.example.com") == 0


def test_the_url_model_skips_messenger_hosts(scanner):
    assert "model.url" not in rules_of(scanner.scan("Вступайте https://chat.whatsapp.com/F308TS1LItv1jQsKgM7RBM"))


def test_scan_many_scores_and_explains_the_batch_once_and_equals_scan(scanner, monkeypatch):
    from phishguard.classifier.serve import LinearModel

    texts = [CARD_REQUEST, "Здравствуйте, камера ещё продаётся?", "https://youla.ru-receive.online/pay", CARD_REQUEST, ""]
    one = [scanner.scan(t) for t in texts]
    scored: list[int] = []
    explained: list[int] = []
    real_scored, real_explain = LinearModel.scored, LinearModel.explain

    def counting_scored(self, docs):
        scored.append(len(docs))
        return real_scored(self, docs)

    def counting_explain(self, batch, rows, label, k=3):
        explained.append(len(rows))
        return real_explain(self, batch, rows, label, k)

    monkeypatch.setattr(LinearModel, "scored", counting_scored)
    monkeypatch.setattr(LinearModel, "explain", counting_explain)
    many = scanner.scan_many(texts)
    assert scored == [4]  # the distinct texts, in one call; no per-message scoring
    assert explained == [1]  # the one distinct text that fires, from the batch's rows; none explained alone
    for a, b in zip(one, many):
        assert (a.verdict, a.score, a.reasons, a.urls, a.models) == (b.verdict, b.score, b.reasons, b.urls, b.models)


def _reference_top_terms(model, doc: str, label: str, k: int) -> list[str]:
    """The explanation spelt out plainly: a word's push is the sum, over its occurrences, of tf-idf x
    coefficient of each distinct n-gram column of it; positive pushes, strongest first, ties in text order."""
    doc = doc.lower()
    f = model.features([doc])
    out_k = model.classes.index(label)
    weight = {c: v * model.coef(np.array([c]))[0, out_k] for c, v in zip(f.col.tolist(), f.val.tolist())}
    push: dict[str, float] = {}
    for b in model.blocks:
        for u in b.units(doc):
            word = u.strip(".,:;!?()[]«»\"'")
            if word.isalpha():
                push[word] = push.get(word, 0.0) + sum(weight[c] for c in set(np.frombuffer(b._unit(u)[1], dtype=np.int32).tolist()))
    ranked = sorted((kv for kv in push.items() if kv[1] > 0), key=lambda kv: -kv[1])
    return [w for w, _ in ranked[:k]]


def test_batch_explanations_equal_the_plain_definition_and_one_by_one(scanner):
    import csv

    from phishguard.classifier.features import text_document
    from phishguard.ruleset.model_matchers import loaded_model, models_dir

    model = loaded_model(models_dir() / "text.json")
    texts: list[str] = []
    for name in ("scam.tsv", "legit.tsv", "holdout.tsv"):
        with (Path(__file__).parent / "data" / "chat_corpus" / name).open(encoding="utf-8", newline="") as f:
            texts += [r["text"] for r in csv.DictReader(f, delimiter="\t")][:60]
    docs = [text_document(t) for t in texts] + [""]
    for label, k in (("scam", 3), ("spam", 5)):
        batch = model.explain(model.scored(docs), range(len(docs)), label, k)
        assert batch == [_reference_top_terms(model, d, label, k) for d in docs]
        assert batch == [model.top_terms(d, label, k) for d in docs]
        assert sum(bool(w) for w in batch) > (100 if label == "scam" else 0)


def rules_copy(tmp_path: Path, models_yaml_edit) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(shipped_dir("rules"), root)
    path = root / "models.yaml"
    path.write_text(models_yaml_edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("replacement", "problem"),
    [
        ("yields_to: [card_request, text_model]", "cannot yield to its own category"),
        ("yields_to: [card_request, card_request]", "listed twice"),
        ("yields_to: [card_requests]", "yields_to"),
    ],
)
def test_a_bad_yields_to_is_reported_with_its_place(tmp_path, make_scanner, replacement, problem):
    root = rules_copy(tmp_path, lambda s: s.replace("yields_to: [card_request, scam_script]", replacement, 1))
    with pytest.raises(RuleLoadError) as err:
        make_scanner(rules_dir=str(root))
    (line,) = [e for e in err.value.errors if "model.text-scam" in e]
    assert line.startswith("rules/models.yaml:") and "field 'yields_to" in line and problem in line
