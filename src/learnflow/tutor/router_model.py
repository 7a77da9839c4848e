"""A text classifier for triage, trained on the labelled dataset's training split.

TF-IDF over the normalised words and character n-grams (robust to typos) plus markers for attached
code, error messages, tracebacks and the phrasings in ``phrasing.MARKERS`` (an error named in prose,
"doesn't work", a wrong output, failing tests, "check my solution"), into a logistic regression. It is
trained when first needed (about a second for the packaged dataset) and cached for the process; the
service image ships it exported (learnflow.textmodel) and predicts without scikit-learn.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from learnflow.textmodel import load_or_train
from learnflow.tutor import phrasing
from learnflow.tutor.datasets import Route, TriageExample, load_triage, split

_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|\b[A-Z]\w*(Error|Exception)\s*:|line \d+", re.I)


def features(query: str, code: str | None, error_message: str | None) -> str:
    """The text the model reads: the normalised query plus marker words for what came with it and what it says."""
    marks = []
    if code and code.strip():
        marks.append("zzhascode")
    if error_message and error_message.strip():
        marks.append("zzhaserror")
    if _TRACEBACK.search(query[: phrasing.MAX_CHARS]) or (
        error_message and _TRACEBACK.search(error_message[: phrasing.MAX_CHARS])
    ):
        marks.append("zztraceback")
    if not query.strip():
        marks.append("zzemptyquery")
    marks += [m.name for m in phrasing.markers(query, attached="zzhascode" in marks or "zzhaserror" in marks)]
    return " ".join([phrasing.normalise(query), *marks])


def _pipeline() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline

    return make_pipeline(
        FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
            ]
        ),
        LogisticRegression(C=8.0, max_iter=2000, class_weight="balanced"),
    )


class RouterModel:
    def __init__(self, examples: list[TriageExample]) -> None:
        texts = [features(e.query, e.code, e.error_message) for e in examples]
        self.model = load_or_train("router", texts=texts, labels=[e.label for e in examples], make_pipeline=_pipeline)

    def predict(self, query: str, code: str | None, error_message: str | None) -> tuple[Route, float, dict[str, float]]:
        """The route, its probability, and every route's probability."""
        probabilities = self.model.probabilities(features(query, code, error_message))
        by_route = dict(zip(self.model.classes, probabilities, strict=True))
        route = max(by_route, key=lambda r: by_route[r])
        # The model's classes are its training labels, each a Route (TriageExample validates them).
        return route, by_route[route], by_route  # type: ignore[return-value]


@cache
def get_model() -> RouterModel | None:
    """The model trained on the packaged dataset's training split (None when the dataset is absent)."""
    try:
        examples = [e for e in load_triage() if split(e) == "train"]
    except FileNotFoundError:
        return None
    return RouterModel(examples) if examples else None
