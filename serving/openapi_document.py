"""The published OpenAPI document (``GET /docs.json``): the API's contract, every answer listed.

BentoML generates the paths and schemas from the service's request and
response models (and mounts the FastAPI routes'); this module makes that the
contract the service keeps:

- every refusal is the one :class:`serving.errors.ErrorBody`, a component schema;
- each operation lists the status of every :class:`serving.errors.ServiceError`
  subclass that applies to it (its ``operations``, or every keyed operation), so an
  error added in serving/errors.py joins the document by itself;
- operations behind an API key say so (``X-API-Key``), so a client knows to send it;
- the frameworks' own error schemas, which no answer uses any more, are dropped.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from serving.api_keys import API_KEY_HEADER
from serving.errors import ErrorBody, refusal_classes

TITLE = "svrisk scoring service"
DESCRIPTION = (
    "Explained, fairness-gated risk scores for practitioner review (synthetic data only). "
    "A score supports a practitioner's review; it never decides. Every refusal has the body "
    "ErrorBody; operations that need a key say so (header X-API-Key)."
)
SECURITY_SCHEME = "ApiKey"
ERROR_REF = "#/components/schemas/ErrorBody"
# BentoML's and FastAPI's error schemas; ErrorBody replaces them in every answer.
REPLACED_SCHEMAS = ("HTTPValidationError", "ValidationError", "InvalidArgument", "NotFound",
                    "InternalServerError", "TaskStatusResponse")  # fmt: skip
ERR_STILL_REFERENCED = "OpenAPI document: schema {name} is still referenced after the error bodies were replaced"


def documented_refusals(operation: str, keyed: bool) -> dict[int, str]:
    """Status -> description of every refusal ``operation`` ("METHOD /path") can answer."""
    found: dict[int, list[str]] = {}
    for cls in refusal_classes():
        applies = keyed if cls.operations is None else operation in cls.operations
        if applies:
            summary = (cls.__doc__ or cls.__name__).strip().split("\n\n")[0]
            summary = " ".join(summary.split())
            found.setdefault(int(cls.error_code), [])
            if summary not in found[int(cls.error_code)]:
                found[int(cls.error_code)].append(summary)
    return {status: " / ".join(found[status]) for status in sorted(found)}


def _svrisk_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("svrisk")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without FastAPI's ``{"type": "null"}`` alternative.

    A query string is never JSON null: an optional parameter is one not ``required``, and
    OpenAPI 3.0 has no null type. The one remaining alternative keeps the annotations.
    """
    options = [o for o in schema.get("anyOf", []) if o != {"type": "null"}]
    if len(options) != 1 or len(schema["anyOf"]) != 2:
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**options[0], **rest}


def published_document(generated: dict[str, Any], is_keyed: Callable[[str], bool]) -> dict[str, Any]:
    """The document served at ``/docs.json``, made from BentoML's ``generated`` one.

    ``is_keyed(path)`` says whether the path needs an API key
    (not :func:`serving.http_guard.is_open_path`).
    """
    doc = copy.deepcopy(generated)
    doc["info"] = {"title": TITLE, "description": DESCRIPTION, "version": _svrisk_version()}
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorBody"] = error_schema
    components["securitySchemes"] = {
        SECURITY_SCHEME: {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}
    }
    error_content = {"application/json": {"schema": {"$ref": ERROR_REF}}}
    for path, item in doc["paths"].items():
        keyed = is_keyed(path)
        for method, operation in item.items():
            responses = {code: r for code, r in operation.get("responses", {}).items() if int(code) < 400}
            for status, description in documented_refusals(f"{method.upper()} {path}", keyed).items():
                responses[str(status)] = {"description": description, "content": error_content}
            operation["responses"] = responses
            for parameter in operation.get("parameters", []):
                parameter["schema"] = _without_null(parameter["schema"])
            if keyed:
                operation["security"] = [{SECURITY_SCHEME: []}]
    for name in REPLACED_SCHEMAS:
        schemas.pop(name, None)
    text = json.dumps(doc)
    for name in REPLACED_SCHEMAS:
        if f'"#/components/schemas/{name}"' in text:
            raise ValueError(ERR_STILL_REFERENCED.format(name=name))
    return doc
