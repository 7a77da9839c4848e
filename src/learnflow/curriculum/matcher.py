"""Which topic a question is about: a text model built from the curriculum's own words, plus keywords.

The model is a linear SVM over TF-IDF word and character n-grams (robust to misspellings), fitted on
the curriculum's text only: each topic's title, keywords, summary, key points, common mistakes,
example titles and explanation paragraphs. No student query is used to build it, so the whole
labelled concepts dataset measures it (`learnflow eval`). Its scores are combined with the keyword
scorer's, which knows multi-word phrases ("for loop", "try except") and curriculum order.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from learnflow.textmodel import load_or_train

if TYPE_CHECKING:
    from learnflow.curriculum.models import Topic

# Weight of the keyword score against the SVM's margin, and the margin below which (with no keyword
# evidence either) a question is about no topic; both chosen on the concepts dataset.
KEYWORD_WEIGHT = 0.1
MIN_MARGIN = -0.3


def _documents(topics: list[Topic]) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    for topic in topics:
        explanations = topic.explanation.beginner + "\n\n" + topic.explanation.intermediate
        parts = [
            topic.title,
            topic.id.replace("-", " "),
            topic.summary,
            *topic.keywords,
            *topic.key_points,
            *topic.common_mistakes,
            *(e.title for e in topic.examples),
            *(p for p in re.split(r"\n\s*\n", explanations) if p.strip()),
        ]
        texts += [p.lower() for p in parts]
        labels += [topic.id] * len(parts)
    return texts, labels


def _pipeline() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.svm import LinearSVC

    return make_pipeline(
        FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
            ]
        ),
        LinearSVC(C=1.0),
    )


class TopicModel:
    def __init__(self, topics: list[Topic]) -> None:
        texts, labels = _documents(topics)
        self.model = load_or_train("topics", texts=texts, labels=labels, make_pipeline=_pipeline)
        self.classes: list[str] = self.model.classes

    def margins(self, text: str) -> dict[str, float]:
        """Each topic's SVM margin for ``text`` (higher is more likely)."""
        return dict(zip(self.classes, self.model.decision(text.lower()), strict=True))
