"""The HTTP API reference: the platform's OpenAPI document, rendered, and the JSON-RPC methods.

The OpenAPI document is the one the running platform serves at ``/openapi.json``, built from a
platform app that is created but never started (no database is opened). It is written out as
``reference/openapi.json`` too, for tools. The JSON-RPC account API is one POST endpoint and so
has no OpenAPI operations of its own; its methods are listed from the method table.
"""

from __future__ import annotations

import inspect
import json
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from vumigo.docsgen.markdown import cell, code, generated_notice, inline, slug, table

PATH = "reference/http-apis.md"
JSON_PATH = "reference/openapi.json"

METHOD_ORDER = ("get", "put", "post", "patch", "delete")


@cache
def openapi_document() -> dict[str, Any]:
    """The document, built once per process (both generated files need it)."""
    from vumigo.config import Settings
    from vumigo.runtime import Platform
    from vumigo.web.app import create_app

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), database_url="sqlite+aiosqlite://")
        document: dict[str, Any] = create_app(Platform(settings)).openapi()
    return document


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def schema_type(schema: dict[str, Any]) -> str:
    """A short, readable type for a JSON schema: ``string or null``, ``array of Contact``."""
    if not schema:
        return "any JSON"
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(value) for value in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(schema_type(option) for option in schema[key])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return "array of " + schema_type(schema.get("items", {}))
    return str(kind or "object")


def _type_cell(schema: dict[str, Any]) -> str:
    """A schema's type for a page: a named schema links to its section under Schemas."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[`{name}`](#{slug(name)})"
    return cell(schema_type(schema))


def _properties(schema: dict[str, Any]) -> str:
    props: dict[str, Any] = schema.get("properties", {})
    if not props:
        return ""
    required = set(schema.get("required", []))
    rows = []
    for name, prop in props.items():
        notes = []
        for key, label in (("minLength", "min length"), ("maxLength", "max length")):
            if key in prop:
                notes.append(f"{label} {prop[key]}")
        described = " ".join(filter(None, [prop.get("description", ""), ", ".join(notes)]))
        rows.append(
            [
                code(name),
                cell(schema_type(prop)),
                "yes" if name in required else " ",
                cell(described),
            ]
        )
    return table(["field", "type", "required", "notes"], rows)


def _json_content(content: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    for media, body in content.items():
        return media, body.get("schema", {})
    return "", {}


def _body(operation: dict[str, Any]) -> str:
    body = operation.get("requestBody")
    if not body:
        return ""
    media, schema = _json_content(body.get("content", {}))
    parts = [f"**Request body** ({code(media)}): {_type_cell(schema)}"]
    if schema.get("description"):
        parts.append(inline(schema["description"]))
    props = _properties(schema)
    return "\n\n".join([*parts, props] if props else parts) + "\n"


def _parameters(operation: dict[str, Any]) -> str:
    params = operation.get("parameters", [])
    if not params:
        return ""
    rows = [
        [
            code(p["name"]),
            p["in"],
            "yes" if p.get("required") else " ",
            cell(schema_type(p.get("schema", {}))),
            cell(p.get("description", "")),
        ]
        for p in params
    ]
    return "**Parameters**\n\n" + table(["name", "in", "required", "type", "notes"], rows)


def _responses(operation: dict[str, Any]) -> str:
    rows = []
    for status, response in operation.get("responses", {}).items():
        if status == "422":
            continue  # FastAPI's validation answer; the platform answers 400 instead
        _, schema = _json_content(response.get("content", {}))
        rows.append([code(status), cell(response.get("description", "")), _type_cell(schema)])
    return "**Responses**\n\n" + table(["status", "meaning", "body"], rows)


def _security(operation: dict[str, Any], schemes: dict[str, Any]) -> str:
    names = [name for requirement in operation.get("security", []) for name in requirement]
    if not names:
        return ""
    described = "; ".join(
        inline(
            f"{schemes.get(n, {}).get('scheme', n)}: {schemes.get(n, {}).get('description', '')}"
        )
        for n in names
    )
    return f"**Authentication**: {described}\n"


def _operation(path: str, method: str, op: dict[str, Any], schemes: dict[str, Any]) -> str:
    parts = [f"### {method.upper()} `{path}`\n"]
    if op.get("summary"):
        parts.append(inline(op["summary"]) + "\n")
    if op.get("description"):
        parts.append(inline(op["description"]) + "\n")
    for piece in (_security(op, schemes), _parameters(op), _body(op), _responses(op)):
        if piece:
            parts.append(piece)
    return "\n".join(parts)


def _operations(document: dict[str, Any]) -> Iterable[tuple[str, str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method in METHOD_ORDER:
            if method in item:
                tags = item[method].get("tags") or ["other"]
                yield tags[0], path, method, item[method]


def _schemas(document: dict[str, Any]) -> str:
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    parts = []
    for name in sorted(schemas):
        if name in ("HTTPValidationError", "ValidationError"):
            continue
        schema = schemas[name]
        parts.append(f"### `{name}`\n")
        if schema.get("description"):
            parts.append(inline(schema["description"]) + "\n")
        parts.append(_properties(schema) or "Any JSON object.\n")
    return "\n".join(parts)


def _rpc_methods() -> str:
    from vumigo.api.rpc import PATH as RPC_PATH
    from vumigo.api.rpc_methods import METHODS

    rows = []
    for name, (method, _arity) in METHODS.items():
        params = [p for p in inspect.signature(method).parameters if p != "call"]
        summary = inspect.getdoc(method) or ""
        rows.append(
            [
                code(name),
                ", ".join(code(p) for p in params) or "none",
                cell(summary.split("\n\n")[0]),
            ]
        )
    return (
        f"All methods are called with `POST {RPC_PATH}` and a JSON-RPC 2.0 body, "
        "`params` given by position.\n\n" + table(["method", "params", "notes"], rows)
    )


def render_json(document: dict[str, Any] | None = None) -> str:
    return json.dumps(document or openapi_document(), indent=2, sort_keys=True) + "\n"


def render(document: dict[str, Any] | None = None) -> str:
    document = document or openapi_document()
    schemes = document.get("components", {}).get("securitySchemes", {})
    by_tag: dict[str, list[str]] = {}
    for tag, path, method, op in _operations(document):
        by_tag.setdefault(tag, []).append(_operation(path, method, op, schemes))
    sections = "\n".join(
        f"## {tag[:1].upper() + tag[1:]}\n\n" + "\n".join(ops) for tag, ops in by_tag.items()
    )
    page = f"""# HTTP API reference

Every HTTP endpoint of the platform's APIs, rendered from the OpenAPI document the platform
serves at `/openapi.json` (also [here](openapi.json), as of this version). The guides explain
each API with examples: [HTTP API](../http-api/index.md), [contacts](../apis/contacts.md),
[opt-outs](../apis/optouts.md), [metrics](../apis/metrics.md) and the
[JSON-RPC account API](../apis/json-rpc.md).

Errors are JSON: `{{"success": false, "reason": "..."}}` for the HTTP API, and the shapes each
API's guide shows for the others. A request the platform cannot parse is answered with 400 and
a reason, never with a server error.

{sections}
## JSON-RPC account API

{_rpc_methods()}
## Schemas

{_schemas(document)}"""
    return generated_notice("the platform's OpenAPI document") + page
