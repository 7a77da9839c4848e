"""A text classifier for triage, trained on the labelled dataset's training split.

TF-IDF over words and character n-grams (robust to typos) plus markers for attached code, error
messages and tracebacks, into a logistic regression. It is trained when first needed (well under a
second for the packaged dataset) and cached for the process; the service image ships it exported
(learnflow.textmodel) and predicts without scikit-learn.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from learnflow.textmodel import load_or_train
from learnflow.tutor.datasets import Route, TriageExample, load_triage, split

_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|\b[A-Z]\w*(Error|Exception)\s*:|line \d+", re.I)
# Signals the words alone carry weakly: a stated wrong output, an exception named in the prose, and a
# request to have a solution graded. Each becomes a marker word the model can weigh.
_WRONG_OUTPUT = re.compile(
    r"\b(should (?:print|be|output|return|give|show)|supposed to|instead of|expected\b.*\b(?:got|get)|"
    r"but (?:it )?(?:prints|gives|returns|outputs|shows)|(?:prints|returns|gives) (?:none|nothing|the wrong))",
    re.I,
)
_ERROR_NAMED = re.compile(
    r"\b\w+(?:Error|Exception)\b|not (?:callable|iterable|subscriptable|defined)|traceback|"
    r"\b(?:crash|crashes|crashed|fails|failed)\b",
    re.I,
)
_GRADE_ME = re.compile(
    r"\b(grade|mark|score|check|review|test|run) (?:this|it|my|against)|good enough to pass|"
    r"did i (?:get it|do it) right|is (?:this|it|my \w+) (?:right|correct)|against the tests|my homework",
    re.I,
)


def features(query: str, code: str | None, error_message: str | None) -> str:
    """The text the model reads: the query plus marker words for what came with it."""
    marks = []
    if code and code.strip():
        marks.append("zzhascode")
    if error_message and error_message.strip():
        marks.append("zzhaserror")
    if _TRACEBACK.search(query) or (error_message and _TRACEBACK.search(error_message)):
        marks.append("zztraceback")
    if not query.strip():
        marks.append("zzemptyquery")
    if _WRONG_OUTPUT.search(query):
        marks.append("zzwrongoutput")
    if _ERROR_NAMED.search(query):
        marks.append("zzerrornamed")
    if _GRADE_ME.search(query):
        marks.append("zzgrademe")
    return " ".join([query.lower(), *marks])


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
        return route, by_route[route], by_route  # type: ignore[return-value]


@cache
def get_model() -> RouterModel | None:
    """The model trained on the packaged dataset's training split (None when the dataset is absent)."""
    try:
        examples = [e for e in load_triage() if split(e) == "train"]
    except FileNotFoundError:
        return None
    return RouterModel(examples) if examples else None
