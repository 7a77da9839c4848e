"""Runner: runs code in the sandbox for the other services and for students."""

from __future__ import annotations

from learnflow.events import CodeExecutionRequest, Topic
from learnflow.services.declare import Consumer, ServiceDeclaration
from learnflow.services.runner import routes

SERVICE = ServiceDeclaration(
    name="runner",
    title="LearnFlow code runner",
    router=routes.router,
    runs_code=True,
    is_runner=True,
    consumers=(Consumer(Topic.CODE_EXECUTION_REQUEST, routes.on_request, CodeExecutionRequest),),
)
