"""Render an OpenAPI 3 document as one self-contained HTML page.

The stock Swagger UI and ReDoc pages load JavaScript from a CDN; this page needs no network and no
JavaScript, so the documentation works offline. Every string taken from the spec is escaped.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any, NamedTuple

_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
_SCHEMA_REF = "#/components/schemas/"
_NOTE_KEYS = ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "pattern")

_STYLE = """
*{box-sizing:border-box}
body{margin:0;display:flex;color:#1f2933;
  font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
nav{position:sticky;top:0;height:100vh;overflow-y:auto;width:290px;flex:none;padding:1rem;
  background:#f4f6f8;border-right:1px solid #dde2e6;font-size:13px}
nav ul{list-style:none;margin:0 0 .8rem;padding:0}nav li{margin:.15rem 0}
nav a{color:#1f2933;text-decoration:none}nav a:hover{text-decoration:underline}
nav .tag{font-weight:600;text-transform:uppercase;letter-spacing:.04em;font-size:12px}
main{flex:1;min-width:0;max-width:1000px;padding:1.5rem 2.5rem 4rem}
h1 small{font-size:.55em;color:#52606d;font-weight:400}
h2{border-bottom:2px solid #dde2e6;padding-bottom:.3rem;margin-top:2.5rem}
code,.path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
.op{border:1px solid #dde2e6;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
.op h3{margin:.2rem 0;font-size:1.05rem}.op .summary{font-weight:600}
.badge{display:inline-block;min-width:4.2em;text-align:center;border-radius:4px;color:#fff;
  font:700 11px/1.8 ui-monospace,Menlo,monospace;text-transform:uppercase;padding:0 .4em}
.get{background:#2b6cb0}.post{background:#2f855a}.put{background:#b7791f}.patch{background:#2c7a7b}
.delete{background:#c53030}.head,.options,.trace{background:#718096}
.deprecated{text-decoration:line-through}.muted{color:#52606d}.desc{white-space:pre-line}
table{border-collapse:collapse;width:100%;margin:.4rem 0 .8rem;font-size:14px}
th,td{text-align:left;vertical-align:top;border-bottom:1px solid #e4e7eb;padding:.3rem .5rem}
th{background:#f4f6f8;font-weight:600}h4{margin:.8rem 0 .2rem}td p{margin:0}
.schema{border-left:3px solid #dde2e6;padding-left:1rem;margin:1.2rem 0}
"""


class _Operation(NamedTuple):
    method: str
    path: str
    details: dict[str, Any]
    parameters: list[dict[str, Any]]


def render_docs_page(spec: dict[str, Any]) -> str:
    """Return the HTML documentation page for `spec`, an OpenAPI 3 document as a dict."""
    info, components = spec.get("info", {}), spec.get("components", {})
    title, schemes = _text(info.get("title", "API")), components.get("securitySchemes", {})
    schemas = components.get("schemas", {})
    groups = _group_by_tag(spec)
    main = [
        f"<header><h1>{title} <small>{_text(info.get('version', ''))}</small></h1>",
        _paragraph(info.get("description")) + "</header>",
        _security_section(schemes),
        *(_tag_section(spec, tag, text, operations) for tag, text, operations in groups),
        _schemas_section(schemas),
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        f"<title>{title}</title><style>{_STYLE}</style></head>\n"
        f"<body>\n{_nav(groups, schemas, bool(schemes))}\n"
        f"<main>\n{''.join(main)}\n</main>\n</body></html>\n"
    )


def _group_by_tag(spec: dict[str, Any]) -> list[tuple[str, str, list[_Operation]]]:
    """Operations per tag: declared tags first, in order, then the others; untagged in 'default'."""
    descriptions = {tag["name"]: tag.get("description", "") for tag in spec.get("tags", [])}
    grouped: dict[str, list[_Operation]] = {name: [] for name in descriptions}
    for path, item in spec.get("paths", {}).items():
        for method in (name for name in _METHODS if name in item):
            details = item[method]
            # Operation-level parameters override path-level ones with the same name and location.
            merged = {}
            for parameter in [*item.get("parameters", []), *details.get("parameters", [])]:
                parameter = _resolve(spec, parameter)
                merged[(parameter.get("name"), parameter.get("in"))] = parameter
            for tag in details.get("tags") or ["default"]:
                operation = _Operation(method, path, details, list(merged.values()))
                grouped.setdefault(tag, []).append(operation)
    return [(tag, descriptions.get(tag, ""), ops) for tag, ops in grouped.items() if ops]


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` (to a response, parameter or request body) to what it points at."""
    ref = node.get("$ref", "")
    if not ref.startswith("#/"):
        return node
    for key in ref[2:].split("/"):
        spec = spec.get(key.replace("~1", "/").replace("~0", "~"), {})
    return spec


def _nav(
    groups: list[tuple[str, str, list[_Operation]]], schemas: dict[str, Any], has_security: bool
) -> str:
    parts = ["<nav>"]
    if has_security:
        parts.append('<ul><li><a class="tag" href="#authentication">Authentication</a></li></ul>')
    for tag, _, operations in groups:
        parts.append(f'<a class="tag" href="#{_tag_anchor(tag)}">{_text(tag)}</a><ul>')
        parts.extend(
            f'<li><a href="#{_operation_anchor(tag, op)}">{_badge(op.method)} '
            f'<span class="path">{_text(op.path)}</span></a></li>'
            for op in operations
        )
        parts.append("</ul>")
    if schemas:
        parts.append('<a class="tag" href="#schemas">Schemas</a><ul>')
        parts.extend(f"<li>{_schema_link(name)}</li>" for name in schemas)
        parts.append("</ul>")
    return "".join(parts) + "</nav>"


def _security_section(schemes: dict[str, Any]) -> str:
    rows = []
    for name, scheme in schemes.items():
        if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
            token_format = f" ({scheme['bearerFormat']})" if "bearerFormat" in scheme else ""
            usage = f"Bearer token{_text(token_format)}: send "
            usage += "<code>Authorization: Bearer &lt;token&gt;</code>"
        else:
            usage = _text(f"{scheme.get('type', '')} {scheme.get('scheme', scheme.get('in', ''))}")
        rows.append([_code(name), usage, _paragraph(scheme.get("description"))])
    if not rows:
        return ""
    table = _table(("Scheme", "How to authenticate", "Description"), rows)
    return f'<section id="authentication"><h2>Authentication</h2>{table}</section>'


def _tag_section(
    spec: dict[str, Any], tag: str, description: str, operations: list[_Operation]
) -> str:
    body = "".join(_operation(spec, tag, op) for op in operations)
    heading = f'<section id="{_tag_anchor(tag)}"><h2>{_text(tag)}</h2>'
    return f"{heading}{_paragraph(description)}{body}</section>"


def _operation(spec: dict[str, Any], tag: str, op: _Operation) -> str:
    details = op.details
    struck = ' class="deprecated"' if details.get("deprecated") else ""
    parts = [
        f'<article class="op" id="{_operation_anchor(tag, op)}">',
        f'<h3>{_badge(op.method)} <span class="path"{struck}>{_text(op.path)}</span></h3>',
        f'<div class="summary">{_text(details.get("summary", ""))}</div>',
        _paragraph(details.get("description")),
        _security_note(details.get("security", spec.get("security"))),
    ]
    if op.parameters:
        rows = [_parameter_row(parameter) for parameter in op.parameters]
        headers = ("Name", "In", "Required", "Type", "Description")
        parts.append("<h4>Parameters</h4>" + _table(headers, rows))
    if "requestBody" in details:
        body = _resolve(spec, details["requestBody"])
        required = " (required)" if body.get("required") else ""
        parts.append(f"<h4>Request body{required}</h4>{_paragraph(body.get('description'))}")
        parts.append(_content(body.get("content", {}), with_properties=True))
    responses = details.get("responses", {})
    if responses:
        statuses = sorted(responses, key=lambda status: (not status[:1].isdigit(), status))
        rows = [_response_row(status, _resolve(spec, responses[status])) for status in statuses]
        parts.append("<h4>Responses</h4>" + _table(("Status", "Description", "Body"), rows))
    return "".join(parts) + "</article>"


def _parameter_row(parameter: dict[str, Any]) -> list[str]:
    schema = parameter.get("schema", {})
    required = "yes" if parameter.get("required") else "no"
    notes = _notes(schema) + _paragraph(parameter.get("description"))
    return [
        _code(parameter.get("name")),
        _text(parameter.get("in")),
        required,
        _schema_type(schema),
        notes,
    ]


def _response_row(status: str, response: dict[str, Any]) -> list[str]:
    description = _paragraph(response.get("description"))
    return [_code(status), description, _content(response.get("content", {}))]


def _security_note(requirements: list[dict[str, Any]] | None) -> str:
    if requirements is None:
        return ""
    names = sorted({name for requirement in requirements for name in requirement})
    if not names:
        return '<p class="muted">No authentication required.</p>'
    links = ", ".join(f'<a href="#authentication">{_code(name)}</a>' for name in names)
    return f'<p class="muted">Requires {links}.</p>'


def _content(content: dict[str, Any], with_properties: bool = False) -> str:
    """Each media type with its schema; an inline object schema also gets its property table."""
    parts = []
    for media_type, media in content.items():
        schema = media.get("schema", {})
        parts.append(f"<div>{_code(media_type)}: {_schema_type(schema)}</div>")
        if with_properties and "properties" in schema:
            parts.append(_properties_table(schema))
    return "".join(parts)


def _schemas_section(schemas: dict[str, Any]) -> str:
    if not schemas:
        return ""
    parts = ['<section id="schemas"><h2>Schemas</h2>']
    for name, schema in schemas.items():
        parts.append(f'<div class="schema" id="{_schema_anchor(name)}"><h3>{_text(name)}</h3>')
        parts.append(_paragraph(schema.get("description")))
        if schema.get("properties"):
            parts.append(_properties_table(schema) + "</div>")
        else:
            parts.append(f"<p>{_schema_type(schema)}</p>{_notes(schema)}</div>")
    return "".join(parts) + "</section>"


def _properties_table(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    rows = [
        [
            _code(name),
            _schema_type(prop),
            "yes" if name in required else "no",
            _notes(prop) + _paragraph(prop.get("description")),
        ]
        for name, prop in schema.get("properties", {}).items()
    ]
    return _table(("Property", "Type", "Required", "Description"), rows)


def _table(headers: tuple[str, ...], rows: list[list[str]]) -> str:
    """A table from literal headers and cells that are already HTML."""
    head = "".join(f"<th>{header}</th>" for header in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _schema_type(schema: dict[str, Any]) -> str:
    """A short HTML description of a schema's type: links for refs, 'array of X' for arrays."""
    if "$ref" in schema:
        return _schema_link(schema["$ref"].removeprefix(_SCHEMA_REF))
    for key, joiner in (("allOf", " and "), ("anyOf", " or "), ("oneOf", " or ")):
        if key in schema:
            parts = [_schema_type(part) for part in schema[key] if not _is_null_marker(part)]
            return joiner.join(parts) or "null"
    kind = schema.get("type", "object" if "properties" in schema else "any")
    if isinstance(kind, list):  # OpenAPI 3.1: ["string", "null"]
        kinds = [_schema_type({**schema, "type": k}) for k in kind if k != "null"]
        return " or ".join(kinds) or "null"
    if kind == "array":
        return f"array of {_schema_type(schema.get('items', {}))}"
    values = schema.get("additionalProperties")
    if kind == "object" and values:
        return f"map of {_schema_type(values) if isinstance(values, dict) else 'any'}"
    return _text(f"{kind} ({schema['format']})" if schema.get("format") else kind)


def _notes(schema: dict[str, Any]) -> str:
    """Enum values, read-only, nullable, default and limits, as labels above a description."""
    notes = []
    enum = schema.get("enum") or schema.get("items", {}).get("enum")
    if enum:
        notes.append("one of " + ", ".join(f"<code>{_literal(value)}</code>" for value in enum))
    flags = (("readOnly", "read-only"), ("writeOnly", "write-only"), ("deprecated", "deprecated"))
    notes += [label for key, label in flags if schema.get(key)]
    notes += ["nullable"] if _is_nullable(schema) else []
    notes += [f"{key} <code>{_literal(schema[key])}</code>" for key in _NOTE_KEYS if key in schema]
    return "".join(f'<div class="muted">{note}</div>' for note in notes)


def _is_nullable(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    alternatives = [*schema.get("anyOf", []), *schema.get("oneOf", [])]
    return (
        bool(schema.get("nullable"))
        or (isinstance(kinds, list) and "null" in kinds)
        or any(_is_null_marker(part) for part in alternatives)
    )


def _is_null_marker(part: dict[str, Any]) -> bool:
    """True for `{type: null}` and for apispec's `{type: object, nullable: true}` beside a ref."""
    nullable_only = bool(part.get("nullable")) and set(part) <= {"type", "nullable"}
    return part.get("type") == "null" or nullable_only


def _schema_link(name: str) -> str:
    if name.startswith("#"):  # a ref outside components/schemas: shown, linked nowhere
        return _code(name)
    return f'<a href="#{_schema_anchor(name)}">{_code(name)}</a>'


def _badge(method: str) -> str:
    return f'<span class="badge {_slug(method)}">{_text(method.upper())}</span>'


def _paragraph(text: str | None) -> str:
    return f'<p class="desc">{_text(text)}</p>' if text else ""


def _code(value: object) -> str:
    return f"<code>{_text(value)}</code>"


def _literal(value: object) -> str:
    return _text(value if isinstance(value, str) else json.dumps(value))


def _text(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _slug(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", value).strip("-") or "x"


def _tag_anchor(tag: str) -> str:
    return f"tag-{_slug(tag)}"


def _operation_anchor(tag: str, op: _Operation) -> str:
    return f"op-{_slug(tag)}-{op.method}-{_slug(op.path)}"


def _schema_anchor(name: str) -> str:
    return f"schema-{_slug(name)}"
