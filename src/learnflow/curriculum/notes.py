"""The knowledge base: short specific answers ("notes") beside the curriculum's topic pages, and finding them.

A topic page answers "tell me about for loops"; a note answers "how do I loop over a list backwards".
Notes live in ``data/notes/*.yaml`` (schema: ``Note``), each tied to the nearest curriculum topic.

Retrieval is Okapi BM25 over an inverted index, written here rather than taken from a library because
the service image carries no scikit-learn/NumPy (see learnflow.textmodel) and the BM25 packages on
PyPI either need NumPy or are a thin wrapper over this same thirty-line formula; the fields are weighed
apart (a match in a note's question forms or terms says more than one in its answer prose).
"""

from __future__ import annotations

import functools
import heapq
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

NOTES_DIR = Path(__file__).parent / "data" / "notes"


class Note(BaseModel):
    """One specific answer, with an example that is run by the test suite exactly as shown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    topic: str = Field(description="The nearest curriculum topic id.")
    questions: list[str] = Field(min_length=2, max_length=6, description="Question forms in beginners' words.")
    answer: str = Field(min_length=40, description="2-5 sentences: the direct answer (for 'why', the reason).")
    terms: list[str] = Field(min_length=1, description="Names and facts the note is about.")
    example: str = Field(min_length=1, description="A short runnable program showing exactly this point.")
    stdin: str = ""
    output: str = Field(description="Exact stdout of the example run with stdin.")


class NoteFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    notes: list[Note]


def load_notes(directory: Path = NOTES_DIR) -> list[Note]:
    """Every note of every ``*.yaml`` file under ``directory``; ids must be unique across files."""
    notes: list[Note] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValueError(f"{path.name}: invalid YAML: {exc}") from exc
        for note in NoteFile.model_validate(data).notes:
            if note.id in seen:
                raise ValueError(f"note id {note.id!r} is in both {seen[note.id]} and {path.name}")
            seen[note.id] = path.name
            notes.append(note)
    return notes


_TOKEN = re.compile(r"[a-z_][a-z0-9_]*|\d+(?:\.\d+)?|[^\sa-z0-9_]{1,3}")
# A number with its decimals is one token: "0.1" is not "0" and "1" (which would match any "1" or "2").
# Words that carry no meaning about which note is meant; symbols are kept ("**", "//", "[::-1]").
_STOP = frozenset(
    """
    a an the are was were be been what whats how why when do does did i im me my you your it its in on of to
    for and or can could would should please explain tell show give about python with this that work works use
    using used help understand mean means some example examples like but want need get more same again code
    there their they them we us if so just thing things way ways vs versus keyword statement
    ? ! . , ' " :
    """.split()
)


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# Spellings of one name that the tokenizer would split apart.
_JOINED = re.compile(r"\bf[- ]?strings?\b")


def tokens(text: str) -> list[str]:
    """Lower-cased, stemmed words and short symbol runs, without stop words."""
    text = _JOINED.sub(" fstring ", text.lower().replace("`", " "))
    return [_stem(t) for t in _TOKEN.findall(text) if t not in _STOP]


@functools.lru_cache(maxsize=4096)
def word_set(text: str) -> frozenset[str]:
    """The set of :func:`tokens` of ``text``, remembered: for the curriculum's own texts (titles, examples),
    which every question is compared with, and were tokenized again for each one."""
    return frozenset(tokens(text))


@dataclass(frozen=True)
class NoteHit:
    note: Note
    score: float


# Field weights (BM25F-style: a field's term frequency counts this many times) and BM25's k1 and b.
_FIELDS = {"questions": 3.0, "terms": 3.0, "answer": 1.0, "id": 2.0}
_K1 = 1.2
_B = 0.6
# Added times the best word overlap (Jaccard) between the question and one of a note's question forms:
# a note's own question forms are the strongest evidence of what it answers, and BM25 alone favours a
# note that repeats a word over the note whose question is that word ("recursion").
QUESTION_MATCH = 4.0


def _best_first(scored: tuple[int, float]) -> tuple[float, int]:
    return -scored[1], scored[0]


class NoteIndex:
    """BM25 over the notes' question forms, terms, id words and answers."""

    def __init__(self, notes: Iterable[Note]) -> None:
        self.notes = list(notes)
        postings: dict[str, list[tuple[int, float]]] = {}
        lengths: list[float] = []
        for i, note in enumerate(self.notes):
            weighted: dict[str, float] = defaultdict(float)
            fields = {
                "questions": " \n ".join(note.questions),
                "terms": " ".join(note.terms),
                "answer": note.answer,
                "id": note.id.replace("-", " "),
            }
            for field, text in fields.items():
                for token in tokens(text):
                    weighted[token] += _FIELDS[field]
            lengths.append(sum(weighted.values()))
            for token, tf in weighted.items():
                postings.setdefault(token, []).append((i, tf))
        # Each question form's size, and for each word the forms that contain it: the overlaps of a
        # question with every form are counted from its own words, not by comparing it with each form.
        self._form_sizes: list[list[int]] = []
        self._form_postings: dict[str, list[tuple[int, int]]] = {}
        for i, note in enumerate(self.notes):
            forms = [frozenset(tokens(q)) for q in note.questions]
            self._form_sizes.append([len(form) for form in forms])
            for j, form in enumerate(forms):
                for token in form:
                    self._form_postings.setdefault(token, []).append((i, j))
        # Each posting's BM25 term score, which depends only on the index: a search only adds them up.
        average = sum(lengths) / len(lengths) if lengths else 1.0
        n = len(self.notes)
        self._scores: dict[str, dict[int, float]] = {}
        for token, found in postings.items():
            idf = math.log(1 + (n - len(found) + 0.5) / (len(found) + 0.5))
            self._scores[token] = {
                i: idf * (tf * (_K1 + 1) / (tf + _K1 * (1 - _B + _B * lengths[i] / average))) for i, tf in found
            }

    def search(self, text: str, *, limit: int = 5, topics: set[str] | None = None) -> list[NoteHit]:
        """The best notes for ``text``, best first; ``topics`` keeps only notes of those topics."""
        asked = set(tokens(text))
        # The longest list of term scores copied whole (in C), the others added to it, in an order that
        # does not depend on the set's (hash-seeded) order, so the sums' last bits are the same every run.
        known = [t for t in asked if t in self._scores]
        found = [self._scores[t] for t in sorted(known, key=lambda t: (-len(self._scores[t]), t))]
        scores: dict[int, float] = dict(found[0]) if found else {}
        for term_scores in found[1:]:
            for i, score in term_scores.items():
                scores[i] = scores.get(i, 0.0) + score
        # How many of the asked words each question form has, counted in C.
        shared = Counter(chain.from_iterable(self._form_postings.get(token, ()) for token in asked))
        overlap: dict[int, float] = {}
        for (i, j), common in shared.items():
            # Jaccard: |asked & form| / |asked | form|, the best of the note's forms.
            jaccard = common / (len(asked) + self._form_sizes[i][j] - common)
            if jaccard > overlap.get(i, 0.0):
                overlap[i] = jaccard
        for i, best in overlap.items():
            if i in scores:
                scores[i] += QUESTION_MATCH * best
        # Most notes share a word with the question: without a topic filter only the best are needed.
        if topics is None:
            ranked = heapq.nsmallest(limit, scores.items(), key=_best_first)
        else:
            ranked = sorted(scores.items(), key=_best_first)
        hits: list[NoteHit] = []
        for i, score in ranked:  # most notes share a word with the question: stop at the limit
            if len(hits) >= limit:
                break
            if topics is None or self.notes[i].topic in topics:
                hits.append(NoteHit(self.notes[i], score))
        return hits
