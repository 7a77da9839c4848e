"""Fitted text classifiers as plain data, so the service image needs no scikit-learn at run time.

LearnFlow's two text models (triage's router and the curriculum's topic matcher) are scikit-learn
pipelines: TF-IDF over word and character n-grams, joined by a ``FeatureUnion``, into a linear model.
scikit-learn with SciPy and NumPy is about 200 MB, two thirds of the 300 MB the service image may
weigh, and a fitted linear model needs none of it to predict: its vocabularies, IDF weights and
coefficients are numbers. So models are always *trained* with scikit-learn (where it is installed:
development, tests, the image's build stage) and always *used* through this module, which reproduces
the fitted pipeline's arithmetic exactly (tests/test_textmodel.py compares every score against
scikit-learn's own). The image's build stage exports them (``learnflow models export``) and drops the
scientific stack; a saved model carries the digest of the data it was trained on and is used only when
that still matches, so a stale file can never answer.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import math
import operator
import re
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

FORMAT = 1
# Where the image's build stage puts exported models: inside the installed package, read-only.
EXPORT_DIR = Path(__file__).parent / "_models"

# scikit-learn's defaults for TfidfVectorizer (token_pattern) and for char_wb's whitespace folding.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_SPACES = re.compile(r"\s\s+")


class ModelUnavailable(RuntimeError):
    """No usable exported model, and scikit-learn is not installed to train one."""


def digest(texts: Sequence[str], labels: Sequence[str]) -> str:
    """The identity of a training set: a saved model is used only for the data it was trained on."""
    h = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        h.update(text.encode("utf-8", "surrogatepass") + b"\0" + label.encode() + b"\0")
    return h.hexdigest()


# 1 + log(count), the sublinear term frequency, for the counts a question has.
_SUBLINEAR = [0.0] + [1.0 + math.log(count) for count in range(1, 64)]


def _sublinear(count: int) -> float:
    return _SUBLINEAR[count] if count < 64 else 1.0 + math.log(count)


@dataclass(frozen=True)
class Vectorizer:
    """One fitted TfidfVectorizer: which n-grams it counts and how it weighs them."""

    analyzer: str  # "word" or "char_wb"
    ngram_range: tuple[int, int]
    lowercase: bool
    sublinear_tf: bool
    vocabulary: dict[str, int]
    # Plain arrays of doubles: the topic model has over a million weights, and a list of Python floats
    # would take four times the memory.
    idf: array[float]
    # A word's character n-grams do not depend on its neighbours (char_wb pads each word alone), and
    # students' questions reuse few words: their in-vocabulary columns are remembered per word.
    _word_columns: dict[str, tuple[int, ...]] = field(default_factory=dict, compare=False, repr=False)

    def terms(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        low, high = self.ngram_range
        grams: list[str] = []
        if self.analyzer == "word":
            tokens = _TOKEN.findall(text)
            for n in range(low, min(high, len(tokens)) + 1):
                grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
            return grams
        for word in _SPACES.sub(" ", text).split():
            padded = f" {word} "
            size = len(padded)
            for n in range(low, high + 1):
                # As scikit-learn's _char_wb_ngrams: a padded word shorter than n counts once, whole
                # (and then so would every longer n: it stops there).
                if size <= n:
                    grams.append(padded)
                    break
                grams += [padded[i : i + n] for i in range(size - n + 1)]
        return grams

    def _char_columns(self, text: str) -> list[int]:
        """The in-vocabulary columns of a char_wb vectorizer's n-grams of ``text``, repeats included."""
        if self.lowercase:
            text = text.lower()
        known = self._word_columns
        if len(known) > 50_000:  # bounded: a flood of made-up words must not grow it for ever
            known.clear()
        columns: list[int] = []
        for word in _SPACES.sub(" ", text).split():
            found = known.get(word)
            if found is None:
                get = self.vocabulary.get
                found = known[word] = tuple(c for c in map(get, self.terms(word)) if c is not None)
            columns += found
        return columns

    def transform(self, text: str) -> dict[int, float]:
        """The L2-normalised TF-IDF row of ``text``, sparse, by column index."""
        # Counted in C: n-grams outside the vocabulary all count as the column None, dropped after.
        if self.analyzer == "char_wb":
            counts = Counter(self._char_columns(text))
        else:
            found: Counter[int | None] = Counter(map(self.vocabulary.get, self.terms(text)))
            found.pop(None, None)
            counts = cast("Counter[int]", found)
        idf = self.idf
        if self.sublinear_tf:
            # Looked up in the comprehension rather than through _sublinear: a call per column costs more.
            table = _SUBLINEAR
            row = {
                column: (table[count] if count < 64 else _sublinear(count)) * idf[column]
                for column, count in counts.items()
            }
        else:
            row = {column: float(count) * idf[column] for column, count in counts.items()}
        norm = math.sqrt(sum(v * v for v in row.values()))
        return {c: v / norm for c, v in row.items()} if norm > 0 else row


@dataclass(frozen=True)
class TextModel:
    """A FeatureUnion of TF-IDF vectorizers into a linear classifier, without scikit-learn."""

    classes: list[str]
    vectorizers: list[Vectorizer]
    # coef[k][j]: class k's weight of feature j (the union's columns, vectorizer after vectorizer).
    coef: list[array[float]]
    intercept: list[float]
    probabilistic: bool  # multinomial logistic regression: scores become probabilities by softmax
    trained_on: str

    def decision(self, text: str) -> list[float]:
        """Each class's score, as the pipeline's ``decision_function`` gives it."""
        scores = list(self.intercept)
        offset = 0
        for vectorizer in self.vectorizers:
            row = vectorizer.transform(text)
            columns = [offset + column for column in row]
            values = list(row.values())
            for k, weights in enumerate(self.coef):
                # The dot product of the row with class k's weights, looped in C, added one term at a time to
                # the score so far: reduce, not sum, which from Python 3.12 compensates and so gives other
                # last bits (a near tie between two classes could flip).
                products = map(operator.mul, map(weights.__getitem__, columns), values)
                scores[k] = functools.reduce(operator.add, products, scores[k])
            offset += len(vectorizer.idf)
        return scores

    def probabilities(self, text: str) -> list[float]:
        """Each class's probability, as the pipeline's ``predict_proba`` gives it (logistic models only)."""
        if not self.probabilistic:
            raise TypeError("this model gives margins, not probabilities")
        scores = self.decision(text)
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return [e / total for e in exps]

    @classmethod
    def from_pipeline(cls, pipeline: Any, *, trained_on: str) -> TextModel:
        """Take the numbers out of a fitted ``make_pipeline(FeatureUnion([...tfidf...]), linear)``."""
        union, linear = pipeline.steps[0][1], pipeline.steps[-1][1]
        vectorizers = []
        for _, tfidf in union.transformer_list:
            if tfidf.analyzer not in ("word", "char_wb") or tfidf.norm != "l2" or not tfidf.use_idf:
                raise ValueError(f"unsupported vectorizer settings: {tfidf!r}")
            if tfidf.analyzer == "word" and (tfidf.token_pattern != _TOKEN.pattern or tfidf.stop_words):
                raise ValueError(f"unsupported tokenizer settings: {tfidf!r}")
            if tfidf.preprocessor is not None or tfidf.tokenizer is not None or tfidf.strip_accents:
                raise ValueError(f"unsupported preprocessing: {tfidf!r}")
            vectorizers.append(
                Vectorizer(
                    analyzer=tfidf.analyzer,
                    ngram_range=tuple(tfidf.ngram_range),
                    lowercase=bool(tfidf.lowercase),
                    sublinear_tf=bool(tfidf.sublinear_tf),
                    vocabulary={str(term): int(column) for term, column in tfidf.vocabulary_.items()},
                    idf=array("d", (float(v) for v in tfidf.idf_)),
                )
            )
        classes = [str(c) for c in linear.classes_]
        coef = [array("d", (float(v) for v in row)) for row in linear.coef_]
        intercept = [float(v) for v in linear.intercept_]
        if len(classes) == 2:
            # A binary linear model keeps one row of weights, for the second class; a zero row for the
            # first makes the softmax of the two scores the logistic function of that one.
            coef, intercept = [array("d", bytes(8 * len(coef[0]))), coef[0]], [0.0, intercept[0]]
        if len(coef) != len(classes) or len(coef[0]) != sum(len(v.idf) for v in vectorizers):
            raise ValueError("the linear model's weights do not match the vectorizers")
        return cls(
            classes=classes,
            vectorizers=vectorizers,
            coef=coef,
            intercept=intercept,
            # Only a multinomial logistic regression's probabilities are the softmax of its scores
            # (one-vs-rest models normalise per-class sigmoids instead).
            probabilistic=type(linear).__name__ == "LogisticRegression"
            and getattr(linear, "multi_class", "auto") in ("auto", "multinomial")
            and linear.solver != "liblinear",
            trained_on=trained_on,
        )

    def dumps(self) -> str:
        data = {
            "format": FORMAT,
            "classes": self.classes,
            "trained_on": self.trained_on,
            "probabilistic": self.probabilistic,
            "intercept": self.intercept,
            "coef": [row.tolist() for row in self.coef],
            "vectorizers": [
                {
                    "analyzer": v.analyzer,
                    "ngram_range": list(v.ngram_range),
                    "lowercase": v.lowercase,
                    "sublinear_tf": v.sublinear_tf,
                    "vocabulary": v.vocabulary,
                    "idf": v.idf.tolist(),
                }
                for v in self.vectorizers
            ],
        }
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> TextModel:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"model format {data.get('format')!r}, this LearnFlow reads {FORMAT}")
        return cls(
            classes=list(data["classes"]),
            vectorizers=[
                Vectorizer(
                    analyzer=v["analyzer"],
                    ngram_range=(int(v["ngram_range"][0]), int(v["ngram_range"][1])),
                    lowercase=bool(v["lowercase"]),
                    sublinear_tf=bool(v["sublinear_tf"]),
                    vocabulary={str(k): int(c) for k, c in v["vocabulary"].items()},
                    idf=array("d", v["idf"]),
                )
                for v in data["vectorizers"]
            ],
            coef=[array("d", row) for row in data["coef"]],
            intercept=[float(x) for x in data["intercept"]],
            probabilistic=bool(data["probabilistic"]),
            trained_on=str(data["trained_on"]),
        )


def sklearn_available() -> bool:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


def load_or_train(name: str, *, texts: list[str], labels: list[str], make_pipeline: Any) -> TextModel:
    """The model ``name`` for this training data: the exported one if it matches, else trained now.

    ``make_pipeline`` builds the unfitted scikit-learn pipeline; it is called only when training.
    """
    trained_on = digest(texts, labels)
    path = model_path(name)
    if path.is_file():
        model = TextModel.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
        if model.trained_on == trained_on:
            return model
        if not sklearn_available():
            raise ModelUnavailable(f"{path} was trained on other data and scikit-learn is not installed to retrain")
    elif not sklearn_available():
        raise ModelUnavailable(
            f"no exported model {name!r} in {EXPORT_DIR} and scikit-learn is not installed to train one "
            "(the image exports its models at build time: learnflow models export)"
        )
    from threadpoolctl import threadpool_limits

    pipeline = make_pipeline()
    # The problem is small; parallel BLAS only fights the other services for the cores (10x slower).
    with threadpool_limits(limits=1):
        pipeline.fit(texts, labels)
    return TextModel.from_pipeline(pipeline, trained_on=trained_on)


def model_path(name: str, directory: Path | None = None) -> Path:
    # gzip: the topic model's JSON is 16 MB of vocabulary and weights, a quarter of that compressed, and
    # the image has a size budget; reading it back costs a few tens of milliseconds once per process.
    return (directory or EXPORT_DIR) / f"{name}.json.gz"


def export(name: str, model: TextModel, directory: Path = EXPORT_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = model_path(name, directory)
    # mtime=0: the same model always gives the same bytes (reproducible image layers).
    path.write_bytes(gzip.compress(model.dumps().encode("utf-8"), compresslevel=9, mtime=0))
    return path
