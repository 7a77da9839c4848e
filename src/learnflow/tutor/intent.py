"""What kind of message a student sent, before any specialist sees it.

Most messages are questions for a specialist. Two kinds are not, and answering them as questions goes
wrong: a message that is not about Python ("what's the weather in Paris?", an essay for history class)
would get the nearest lesson or exercise, and a feeling without a subject ("I'm stuck", "this is too
hard") would get a topic guessed from nothing. Those are redirected, or answered with a question back.
"""

from __future__ import annotations

from typing import Literal

from learnflow.curriculum import Curriculum
from learnflow.tutor import concepts
from learnflow.tutor.triage import feelings_only, is_follow_up

Intent = Literal["question", "off-topic", "feelings"]


def read(query: str, *, code: str | None, error_message: str | None, curriculum: Curriculum) -> Intent:
    """``feelings`` (stuck, no subject), ``off-topic`` (not Python) or ``question`` (for a specialist)."""
    if (code and code.strip()) or (error_message and error_message.strip()) or not query.strip():
        return "question"  # attached code or an error is the subject, whatever the words say
    if feelings_only(query):
        return "feelings"
    if is_follow_up(query):
        return "question"  # "harder please" means the session's last subject, whatever the classifier reads
    if concepts.is_off_topic(query, curriculum):
        return "off-topic"
    return "question"
