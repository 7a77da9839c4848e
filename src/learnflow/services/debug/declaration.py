"""Debug: runs the student's code and explains what went wrong."""

from __future__ import annotations

from learnflow.services import answers
from learnflow.services.debug import service
from learnflow.services.debug.routes import router
from learnflow.services.declare import ServiceDeclaration
from learnflow.specialists import Specialist

SERVICE = ServiceDeclaration(
    name="debug",
    title="LearnFlow debug service",
    router=router,
    runs_code=True,
    specialist=Specialist.DEBUG,
    acknowledgement="Let's find that bug. The debug tutor is running your code.",
    answer=answers.refusal_is_final(service.on_query),
    on_unanswered=answers.unanswered,
)
