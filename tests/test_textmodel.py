"""The exported text models score exactly as the scikit-learn pipelines they come from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from learnflow import textmodel
from learnflow.curriculum import load as load_curriculum
from learnflow.curriculum import matcher
from learnflow.textmodel import ModelUnavailable, TextModel, digest, load_or_train
from learnflow.tutor import router_model
from learnflow.tutor.datasets import load_independent, load_triage, split

# Hard cases for the analyzers: accents, digits, one-letter words, runs of spaces, tabs and newlines,
# punctuation glued to words, non-Latin scripts and words shorter than the n-gram.
ODD = [
    "",
    "a",
    "x  y\t\tz\n\nw",
    "Café naïve résumé ÉLAN",
    "print('hi') # 42 3.14 x_1 __init__",
    "привет мир 你好 世界",
    "??? !!! ...",
    "IndexError: list index out of range on line 3",
]


@pytest.fixture(scope="module")
def triage_texts() -> list[str]:
    examples = load_triage() + load_independent()[0]
    return [router_model.features(e.query, e.code, e.error_message) for e in examples][:400] + ODD


def fitted(pipeline_factory: object, texts: list[str], labels: list[str]):  # type: ignore[no-untyped-def]
    pipeline = pipeline_factory()  # type: ignore[operator]
    pipeline.fit(texts, labels)
    return pipeline


def test_router_probabilities_match_scikit_learn(triage_texts: list[str]) -> None:
    train = [e for e in load_triage() if split(e) == "train"]
    texts = [router_model.features(e.query, e.code, e.error_message) for e in train]
    labels = [e.label for e in train]
    pipeline = fitted(router_model._pipeline, texts, labels)
    model = TextModel.from_pipeline(pipeline, trained_on=digest(texts, labels))
    expected = pipeline.predict_proba(triage_texts)
    for text, row in zip(triage_texts, expected, strict=True):
        assert model.probabilities(text) == pytest.approx(list(row), abs=1e-9), text
    assert model.classes == [str(c) for c in pipeline.classes_]


def test_topic_margins_match_scikit_learn(triage_texts: list[str]) -> None:
    topics = list(load_curriculum().topics.values())
    texts, labels = matcher._documents(topics)
    pipeline = fitted(matcher._pipeline, texts, labels)
    model = TextModel.from_pipeline(pipeline, trained_on=digest(texts, labels))
    queries = [t.lower() for t in triage_texts[:200]] + ODD
    expected = pipeline.decision_function(queries)
    for text, row in zip(queries, expected, strict=True):
        assert model.decision(text) == pytest.approx(list(row), abs=1e-9), text


def test_a_binary_logistic_model_keeps_its_probabilities() -> None:
    texts = ["it crashes", "error on line 2", "what is a list", "explain loops", "my code fails", "how do sets work"]
    labels = ["debug", "debug", "concepts", "concepts", "debug", "concepts"]
    pipeline = fitted(router_model._pipeline, texts, labels)
    model = TextModel.from_pipeline(pipeline, trained_on="x")
    for text in [*texts, "loops crash", *ODD]:
        assert model.probabilities(text) == pytest.approx(list(pipeline.predict_proba([text])[0]), abs=1e-9)


def test_a_model_survives_the_round_trip_through_its_file() -> None:
    texts, labels = ["what is a list", "my code crashes", "give me an exercise"], ["concepts", "debug", "exercise"]
    model = TextModel.from_pipeline(fitted(router_model._pipeline, texts, labels), trained_on=digest(texts, labels))
    again = TextModel.loads(model.dumps())
    assert again == model
    with pytest.raises(ValueError, match="format"):
        TextModel.loads(json.dumps({**json.loads(model.dumps()), "format": 99}))


def test_an_exported_model_is_used_only_for_its_own_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts, labels = ["what is a list", "my code crashes", "give me an exercise"], ["concepts", "debug", "exercise"]
    monkeypatch.setattr(textmodel, "EXPORT_DIR", tmp_path)
    model = load_or_train("m", texts=texts, labels=labels, make_pipeline=router_model._pipeline)
    textmodel.export("m", model, tmp_path)
    calls: list[int] = []

    def never() -> object:
        calls.append(1)
        raise AssertionError("an exported model that matches its data is not retrained")

    assert load_or_train("m", texts=texts, labels=labels, make_pipeline=never) == model
    # Other data: the saved file is not used; without scikit-learn that is a clear refusal.
    monkeypatch.setattr(textmodel, "sklearn_available", lambda: False)
    with pytest.raises(ModelUnavailable, match="other data"):
        load_or_train("m", texts=[*texts, "more"], labels=[*labels, "debug"], make_pipeline=never)
    with pytest.raises(ModelUnavailable, match="no exported model"):
        load_or_train("other", texts=texts, labels=labels, make_pipeline=never)
    assert calls == []


def _reference_decision(model: TextModel, text: str) -> list[float]:
    """The scores added one weight at a time, column by column: the arithmetic every version must keep."""
    scores = list(model.intercept)
    offset = 0
    for vectorizer in model.vectorizers:
        for column, value in vectorizer.transform(text).items():
            for k, weights in enumerate(model.coef):
                scores[k] += weights[offset + column] * value
        offset += len(vectorizer.idf)
    return scores


def test_scores_are_the_same_floats_as_a_plain_loop(triage_texts: list[str]) -> None:
    """Exactly equal, not approximately: a last-bit change can flip a near tie between two routes (the
    dot products once went through ``sum``, which compensates from Python 3.12 on)."""
    router = router_model.get_model()
    assert router is not None
    for text in triage_texts[:300]:
        assert router.model.decision(text) == _reference_decision(router.model, text), text
