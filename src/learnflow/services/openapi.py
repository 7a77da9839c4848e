"""The OpenAPI schema states what the request checks do beyond the models: text must be storable, and a
topic is one of the curriculum's (its data, known only when the app is built)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

# No NUL anywhere in request text: what `common.storable_text` refuses, in a form JSON Schema tools understand.
NO_NUL = "^[^\\x00]*$"


def _constrain(node: Any, components: dict[str, Any], seen: set[str], topics: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _constrain(item, components, seen, topics)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            _constrain(components.get(name), components, seen, topics)
    if node.get("type") == "string" and "format" not in node:
        # A string with a pattern of its own must match both: `allOf` keeps each pattern whole.
        if "pattern" in node and node["pattern"] != NO_NUL:
            node.setdefault("allOf", []).append({"pattern": NO_NUL})
        else:
            node["pattern"] = NO_NUL
    if node.get("type") == "object" and "additionalProperties" in node:
        node.setdefault("propertyNames", {"pattern": NO_NUL})
    if node.get("in") in ("path", "query") and node.get("name") == "topic":
        node["schema"] = _topic_schema(node.get("schema", {}), topics)
    properties = node.get("properties")
    if isinstance(properties, dict) and isinstance(properties.get("topic"), dict):
        properties["topic"] = _topic_schema(properties["topic"], topics)
    for key, value in node.items():
        if key not in ("$ref", "examples", "example", "default", "const", "enum"):
            _constrain(value, components, seen, topics)


def _topic_schema(schema: dict[str, Any], topics: list[str]) -> dict[str, Any]:
    described = {k: v for k, v in schema.items() if k in ("title", "description", "examples")}
    one_of = {"type": "string", "enum": topics}
    if "anyOf" in schema and any(s.get("type") == "null" for s in schema["anyOf"]):  # an optional topic
        return {**described, "anyOf": [one_of, {"type": "null"}]}
    return {**described, **one_of}


def document_request_rules(app: FastAPI, topics: list[str]) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` with the no-NUL rule on every string and key a request can carry (bodies and parameters),
    and ``topics`` as the domain of every `topic` a request names."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.get("components", {}).get("schemas", {})
        seen: set[str] = set()
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                if not isinstance(operation, dict):
                    continue
                _constrain(operation.get("parameters", []), components, seen, topics)
                _constrain(operation.get("requestBody", {}), components, seen, topics)
        app.openapi_schema = schema
        return schema

    return openapi


def document_security(
    app: FastAPI, build: Callable[[], dict[str, Any]], *, scheme: dict[str, Any]
) -> Callable[[], dict[str, Any]]:
    """``build`` with the sign-in ``scheme`` declared, and required by every route whose rule is not public.

    Read from the routes' own rules, so /docs shows a lock exactly where credentials are needed and its
    Authorize button sends the token to those operations.
    """
    from fastapi.routing import APIRoute, iter_route_contexts

    from learnflow.auth.access import rule_of

    def openapi() -> dict[str, Any]:
        schema = build()
        components = schema.setdefault("components", {})
        if "securitySchemes" in components:
            return schema  # already documented (the schema is built once and kept)
        components["securitySchemes"] = {SECURITY_SCHEME: scheme}
        # The app's routes as served (included routers resolved to their full paths).
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            if not isinstance(route, APIRoute) or not context.include_in_schema:
                continue
            rule = rule_of(route)
            if rule is None or rule.public:
                continue
            item = schema.get("paths", {}).get(context.path_format or "", {})
            for method in context.methods or ():
                if method.lower() in item:
                    item[method.lower()]["security"] = [{SECURITY_SCHEME: []}]
        return schema

    return openapi


SECURITY_SCHEME = "LearnFlowBearer"
