"""Is a message a Python question at all? A small text classifier, by meaning rather than a word list.

A word list calls "What is self?" or "Why are floating-point calculations so inaccurate?" off-topic
(no listed word) and "what does a python snake eat" on-topic. This model learns both sides instead: the
"python" class is every query of the triage dataset (all of them are Python questions) and every
question form and term of the notes and keyword of the curriculum; the "other" class is
``data/off_topic.yaml``, written for
LearnFlow (weather, essays, history, cooking, chit-chat, maths without programming, other languages).
TF-IDF over words and character n-grams into a logistic regression, exported like the router
(``learnflow models export``) so the image predicts without scikit-learn.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from learnflow.curriculum import DATA, Curriculum
from learnflow.textmodel import TextModel, load_or_train
from learnflow.tutor.datasets import load_triage

PYTHON = "python"
OTHER = "other"
# P(other) at or above which a message is declined. 0.5 is the model's own decision; on the evaluation
# questions (concepts_questions.yaml) it declines none, and it declines every spec example of off-topic.
THRESHOLD = 0.5


def training_set(curriculum: Curriculum, path: Path = DATA / "off_topic.yaml") -> tuple[list[str], list[str]]:
    python = [e.query.lower() for e in load_triage() if e.query.strip()]
    python += [q.lower() for note in curriculum.notes.values() for q in note.questions]
    # Bare names are Python too ("decorators", "slices"): the notes' terms and the topics' keywords.
    python += [t.lower() for note in curriculum.notes.values() for t in note.terms]
    python += [k.lower() for topic in curriculum.topics.values() for k in (topic.title, *topic.keywords)]
    other = [m.lower() for m in yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]]
    return python + other, [PYTHON] * len(python) + [OTHER] * len(other)


def _pipeline() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline

    return make_pipeline(
        FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
            ]
        ),
        LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced"),
    )


class OffTopicModel:
    def __init__(self, curriculum: Curriculum) -> None:
        texts, labels = training_set(curriculum)
        self.model: TextModel = load_or_train("offtopic", texts=texts, labels=labels, make_pipeline=_pipeline)

    def p_other(self, text: str) -> float:
        """The probability that ``text`` is not a Python question."""
        probabilities = dict(zip(self.model.classes, self.model.probabilities(text.lower()), strict=True))
        return probabilities[OTHER]

    def is_off_topic(self, text: str) -> bool:
        return self.p_other(text) >= THRESHOLD


@cache
def get_model(curriculum: Curriculum) -> OffTopicModel:
    """One model per curriculum, trained (or loaded) on first use."""
    return OffTopicModel(curriculum)
