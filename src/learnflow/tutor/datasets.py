"""The labelled datasets the tutor is trained and measured on (data files beside the curriculum)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field

from learnflow.curriculum import DATA
from learnflow.specialists import Specialist

Route = Specialist


class TriageExample(BaseModel):
    query: str
    code: str | None = None
    error_message: str | None = None
    label: Route


class BuggyProgram(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str
    code: str
    stdin: str = ""
    error_type: str | None
    line: int | None
    fixed_code: str
    expected_output: str | None = None


class PastedCase(BaseModel):
    """A student's code (functions only) and the text they pasted, with the traceback's labels."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    format: str
    code: str
    text: str
    error_type: str
    message: str
    line: int | None
    call: str | None


class FeelingMessage(BaseModel):
    """A message and how triage should treat it (see ``triage_feelings.yaml``)."""

    text: str = Field(min_length=1)
    label: Literal["feelings", "feelings-topic", "off-topic", "homework", "question"]


def load_feelings(path: Path = DATA / "triage_feelings.yaml") -> list[FeelingMessage]:
    """Evaluation-only: feelings, small talk and other subjects' homework beside real questions; never trained on."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [FeelingMessage.model_validate(m) for m in data["messages"]]


class ConceptQuery(BaseModel):
    query: str
    topic: str


class FactQuestion(BaseModel):
    """A question and the facts an answer to it must contain (a plain string, or "re:" and a regex)."""

    q: str = Field(min_length=2)
    facts: list[str] = Field(min_length=1)

    def missing(self, text: str) -> list[str]:
        """The facts ``text`` does not contain."""
        lowered = text.lower()
        return [
            fact
            for fact in self.facts
            if not (re.search(fact[3:], text, re.I) if fact.startswith("re:") else fact.lower() in lowered)
        ]


def load_concept_questions(path: Path = DATA / "concepts_questions.yaml") -> list[FactQuestion]:
    """Evaluation-only questions for "does the concepts answer answer": never used to write notes or train."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [FactQuestion.model_validate(q) for q in data["questions"]]


def load_concepts(path: Path = DATA / "concepts_dataset.jsonl") -> list[ConceptQuery]:
    return [ConceptQuery.model_validate_json(line) for line in path.read_text().splitlines() if line.strip()]


def load_independent() -> tuple[list[TriageExample], list[ConceptQuery]]:
    """Evaluation-only sets written separately from the main datasets (never used for training)."""
    return load_triage(DATA / "triage_independent.jsonl"), load_concepts(DATA / "concepts_independent.jsonl")


def load_students(path: Path = DATA / "triage_students.jsonl") -> list[TriageExample]:
    """Evaluation-only routing set written in students' own style (fragments, typos, vague asks); never trained on."""
    return load_triage(path)


def load_dev() -> list[TriageExample]:
    """Queries in students' own style (fragments, typos, errors named in prose) for measuring routing
    changes while they are made; never trained on, and kept apart from the training set by a test."""
    return load_triage(DATA / "triage_dev.jsonl")


def load_triage(path: Path = DATA / "triage_dataset.jsonl") -> list[TriageExample]:
    return [TriageExample.model_validate_json(line) for line in path.read_text().splitlines() if line.strip()]


def load_buggy(path: Path = DATA / "buggy_programs.yaml") -> list[BuggyProgram]:
    data = yaml.safe_load(path.read_text())
    return [BuggyProgram.model_validate(p) for p in data["programs"]]


def split(example: TriageExample) -> Literal["train", "test"]:
    """A stable 80/20 split by the query's text, so the held-out set never changes between runs."""
    digest = hashlib.sha256((example.query + "\0" + (example.code or "")).encode()).digest()
    return "test" if digest[0] < 52 else "train"  # 52/256 ~ 20%


def load_pasted(path: Path = DATA / "pasted_tracebacks.yaml") -> list[PastedCase]:
    data = yaml.safe_load(path.read_text())
    return [PastedCase.model_validate(c) for c in data["cases"]]
