"""The curriculum: modules, topics, exercises and error explanations, loaded from data files."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from pathlib import Path

import yaml

from learnflow.curriculum.matcher import KEYWORD_WEIGHT, MIN_MARGIN, TopicModel
from learnflow.curriculum.models import (
    Difficulty,
    ErrorExplanation,
    ErrorFile,
    Exercise,
    ExerciseFile,
    Module,
    QuizFile,
    QuizQuestion,
    Topic,
    TopicQuiz,
)
from learnflow.curriculum.notes import Note, NoteIndex, load_notes

DATA = Path(__file__).parent / "data"

_WORD = re.compile(r"[a-z][a-z0-9_]*")
# Words that say nothing about which topic is meant.
_STOP = frozenset(
    """
    a an the is are was what how why when do does did i me my you your it its in on of to for and or can could
    would should please explain tell show give about python with this that work works use using used help
    understand mean means difference between some example examples exercise exercises practice practise quiz
    challenge problem task another harder easier last one next like but want need get more same new again code
    program
    """.split()
)


@dataclass(frozen=True)
class TopicMatch:
    topic: Topic
    score: float


class Curriculum:
    """All curriculum content, validated, with look-ups the tutors need."""

    def __init__(
        self,
        modules: list[Module],
        exercises: list[Exercise],
        errors: list[ErrorExplanation],
        quizzes: list[TopicQuiz] | None = None,
        notes: list[Note] | None = None,
    ) -> None:
        self.modules = sorted(modules, key=lambda m: m.order)
        self.topics: dict[str, Topic] = {}
        self.module_of: dict[str, Module] = {}
        for module in self.modules:
            for topic in module.topics:
                if topic.id in self.topics:
                    raise ValueError(f"duplicate topic id {topic.id!r}")
                self.topics[topic.id] = topic
                self.module_of[topic.id] = module
        self.exercises: dict[str, Exercise] = {}
        for ex in exercises:
            if ex.id in self.exercises:
                raise ValueError(f"duplicate exercise id {ex.id!r}")
            if ex.topic not in self.topics:
                raise ValueError(f"exercise {ex.id!r} names unknown topic {ex.topic!r}")
            self.exercises[ex.id] = ex
        self.errors: dict[str, ErrorExplanation] = {e.error_type: e for e in errors}
        for topic in self.topics.values():
            unknown = [t for t in topic.related_topics if t not in self.topics]
            if unknown:
                raise ValueError(f"topic {topic.id!r} relates to unknown topics {unknown}")
        self.quizzes: dict[str, TopicQuiz] = {}
        question_ids: set[str] = set()
        for quiz in quizzes or []:
            if quiz.topic not in self.topics:
                raise ValueError(f"a quiz names unknown topic {quiz.topic!r}")
            if quiz.topic in self.quizzes:
                raise ValueError(f"topic {quiz.topic!r} has two quizzes")
            for question in quiz.questions:
                if question.id in question_ids:
                    raise ValueError(f"duplicate quiz question id {question.id!r}")
                question_ids.add(question.id)
            self.quizzes[quiz.topic] = quiz
        self.notes: dict[str, Note] = {}
        for note in notes or []:
            if note.id in self.notes:
                raise ValueError(f"duplicate note id {note.id!r}")
            if note.topic not in self.topics:
                raise ValueError(f"note {note.id!r} names unknown topic {note.topic!r}")
            self.notes[note.id] = note
        self._ranked = lru_cache(maxsize=4096)(self._rank)
        self._position = {topic_id: i for i, topic_id in enumerate(self.topics)}
        self._index = self._build_index()

    def _build_index(self) -> dict[str, dict[str, float]]:
        """Map each word to the topics it points at, weighted by how specific it is."""
        index: dict[str, dict[str, float]] = {}

        def add(text: str, topic_id: str, weight: float) -> None:
            for word in _words(text):
                slot = index.setdefault(word, {})
                slot[topic_id] = max(slot.get(topic_id, 0.0), weight)

        for topic in self.topics.values():
            add(topic.id.replace("-", " "), topic.id, 3.0)
            add(topic.title, topic.id, 3.0)
            for kw in topic.keywords:
                add(kw, topic.id, 2.0)
            add(self.module_of[topic.id].title, topic.id, 0.5)
        # A word shared by many topics is weak evidence for each of them.
        for slot in index.values():
            if len(slot) > 1:
                for topic_id in slot:
                    slot[topic_id] /= len(slot) ** 0.5
        return index

    def match_topics(self, text: str, *, limit: int = 3) -> list[TopicMatch]:
        """Rank the topics ``text`` is about, tolerating plurals and misspellings."""
        scores: dict[str, float] = {}
        vocabulary = list(self._index)
        for word in _words(text):
            candidates = [word]
            if word not in self._index:
                candidates = difflib.get_close_matches(word, vocabulary, n=1, cutoff=0.8)
            for candidate in candidates:
                factor = 1.0 if candidate == word else 0.8
                for topic_id, weight in self._index[candidate].items():
                    scores[topic_id] = scores.get(topic_id, 0.0) + weight * factor
        # Phrases ("for loop", "try except") are stronger evidence than their words apart.
        lowered = " " + re.sub(r"[^a-z0-9]+", " ", text.lower()) + " "
        for topic in self.topics.values():
            for kw in topic.keywords:
                phrase = " " + re.sub(r"[^a-z0-9]+", " ", kw.lower()).strip() + " "
                if len(phrase.split()) > 1 and phrase in lowered:
                    scores[topic.id] = scores.get(topic.id, 0.0) + 3.0
        # Ties go to the earlier (more basic) topic of the curriculum.
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], self._position[kv[0]]))
        return [TopicMatch(self.topics[t], s) for t, s in ranked[:limit]]

    @cached_property
    def topic_model(self) -> TopicModel:
        """The text model over the curriculum's own words (fitted once, about 0.5 s)."""
        return TopicModel(list(self.topics.values()))

    @cached_property
    def note_index(self) -> NoteIndex:
        """BM25 over the knowledge base's notes (built once, pure Python)."""
        return NoteIndex(self.notes.values())

    def rank_topics(self, text: str, *, limit: int = 3, minimum: float = 1.5) -> list[Topic]:
        """The topics ``text`` is most likely about, best first: text-model margins plus keyword scores.

        Empty when neither is convinced: no keyword evidence of at least ``minimum`` and a model margin
        under ``MIN_MARGIN`` (greetings, off-topic requests). Answers are cached: triage, the
        specialist and the level look-up all ask about the same question.
        """
        return list(self._ranked(text, limit, minimum))

    def _rank(self, text: str, limit: int, minimum: float) -> tuple[Topic, ...]:
        if not text.strip():
            return ()
        text = _symbols_as_words(text)
        keyword = {m.topic.id: m.score for m in self.match_topics(text, limit=5)}
        margins = self.topic_model.margins(text)
        combined = {t: m + KEYWORD_WEIGHT * keyword.get(t, 0.0) for t, m in margins.items()}
        ranked = sorted(combined, key=lambda t: (-combined[t], self._position[t]))
        if max(keyword.values(), default=0.0) < minimum and margins[ranked[0]] < MIN_MARGIN:
            return ()
        return tuple(self.topics[t] for t in ranked[:limit])

    def best_topic(self, text: str, *, minimum: float = 1.5) -> Topic | None:
        ranked = self.rank_topics(text, limit=1, minimum=minimum)
        return ranked[0] if ranked else None

    def exercises_for(self, *, topic: str | None = None, difficulty: Difficulty | str | None = None) -> list[Exercise]:
        return [
            ex
            for ex in self.exercises.values()
            if (topic is None or ex.topic == topic) and (difficulty is None or ex.difficulty == difficulty)
        ]

    def topics_in_module(self, module_id: str) -> list[Topic]:
        return [t for t in self.topics.values() if self.module_of[t.id].module == module_id]


# Operators carry meaning the word tokenizers drop: say them in words ("what does % do").
_SYMBOLS = [
    ("**=", " power assignment "),
    ("//", " floor division operator "),
    ("**", " power exponent operator "),
    ("+=", " augmented assignment operator "),
    ("-=", " augmented assignment operator "),
    ("*=", " augmented assignment operator "),
    ("/=", " augmented assignment operator "),
    ("==", " equality comparison operator "),
    ("!=", " not equal comparison operator "),
    ("<=", " comparison operator "),
    (">=", " comparison operator "),
    ("%", " modulo remainder operator "),
]


def _symbols_as_words(text: str) -> str:
    for symbol, words in _SYMBOLS:
        text = text.replace(symbol, words)
    return re.sub(r"(?<![\w\s])/(?![\w/])|\s/\s", " division operator ", text)


def _stem(word: str) -> str:
    """Fold plurals onto the singular ("dictionaries" -> "dictionary", "classes" -> "class")."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower().replace("-", " ")) if w not in _STOP and len(w) > 1]


def _load_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path.name}: invalid YAML: {exc}") from exc


def load(data_dir: Path = DATA) -> Curriculum:
    """Load and validate every data file under ``data_dir``."""
    modules = [Module.model_validate(_load_yaml(p)) for p in sorted((data_dir / "topics").glob("*.yaml"))]
    if not modules:
        raise ValueError(f"no curriculum topic files under {data_dir / 'topics'}: the package is incomplete")
    exercises = [
        ex
        for p in sorted((data_dir / "exercises").glob("*.yaml"))
        for ex in ExerciseFile.model_validate(_load_yaml(p)).exercises
    ]
    errors_path = data_dir / "errors.yaml"
    errors = ErrorFile.model_validate(_load_yaml(errors_path)).errors if errors_path.exists() else []
    quizzes = [
        quiz
        for p in sorted((data_dir / "quizzes").glob("*.yaml"))
        for quiz in QuizFile.model_validate(_load_yaml(p)).quizzes
    ]
    notes = load_notes(data_dir / "notes") if (data_dir / "notes").is_dir() else []
    return Curriculum(modules, exercises, errors, quizzes, notes)


@cache
def get_curriculum() -> Curriculum:
    """The packaged curriculum, loaded once per process."""
    return load()


__all__ = [
    "Curriculum",
    "Difficulty",
    "Exercise",
    "Note",
    "QuizQuestion",
    "Topic",
    "TopicMatch",
    "TopicQuiz",
    "get_curriculum",
    "load",
]
