"""Templates: versioned YAML pushed by people, pinned by tasks at creation.

``get_template`` serves the engine and task creation (whose caller was checked);
a request goes through the functions that take its ``Principal``.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskyard.config import Settings
from taskyard.db.models import Template
from taskyard.model.errors import InvalidInput, NotFound
from taskyard.model.template import NEW_TEMPLATE, TemplateSpec
from taskyard.services import audit, safe_yaml
from taskyard.services.access import Principal, require
from taskyard.workspaces.providers import refuse_disallowed


def _line_of(source: str, loc: tuple[int | str, ...]) -> int | None:
    """Line (1-based) of the YAML node at ``loc``, for errors a person can find."""
    try:
        node = safe_yaml.compose(source)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((kv for kv in node.value if kv[0].value == part), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def parse_template(source: str) -> TemplateSpec:
    """Parse and validate template YAML; errors name the line and the field."""
    try:
        data = safe_yaml.load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        where = f" at line {line}" if line else ""
        problem = str(getattr(exc, "problem", exc))
        text = f"{'line ' + str(line) + ', ' if line else ''}not valid YAML: {problem}"
        error = {"field": "(yaml)", "line": line, "message": problem, "text": text}
        raise InvalidInput(
            f"Template is not valid YAML{where}: {problem}",
            details={"field": "(yaml)", "line": line, "errors": [error]},
        ) from exc
    if not isinstance(data, dict):
        raise InvalidInput("Template must be a YAML mapping with at least a 'name'.")
    try:
        return TemplateSpec.model_validate(data, context={NEW_TEMPLATE: True})
    except ValidationError as exc:
        problems = [_problem(source, error) for error in exc.errors()]
        lines = [p["text"] for p in problems]
        message = (
            lines[0] if len(lines) == 1 else f"{len(lines)} problems:\n- " + "\n- ".join(lines)
        )
        first = problems[0]
        raise InvalidInput(
            f"Invalid template: {message}",
            details={"field": first["field"], "line": first["line"], "errors": problems},
        ) from exc


def _problem(source: str, error: Any) -> dict[str, Any]:
    """One validation error as the line, the field and what is wrong there."""
    loc = tuple(error["loc"])
    field = ".".join(str(p) for p in loc) or "(template)"
    line = _line_of(source, loc)
    message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
    message = message.removeprefix("Value error, ")
    where = f"line {line}, " if line else ""
    return {
        "field": field,
        "line": line,
        "message": message,
        "text": f"{where}field '{field}': {message}",
    }


def push_template(
    session: Session, principal: Principal, source: str, settings: Settings
) -> Template:
    """Store a new version of a template (version 1 for a new name), unless its sandbox
    or network is one ``settings`` do not allow."""
    require(principal, "templates:write")
    org_id = principal.org_id
    spec = parse_template(source)
    refuse_disallowed(spec, settings)
    latest = session.scalar(
        select(func.max(Template.version)).where(
            Template.org_id == org_id, Template.name == spec.name
        )
    )
    row = Template(
        org_id=org_id,
        name=spec.name,
        version=(latest or 0) + 1,
        source=source,
        spec=spec.model_dump(mode="json"),
    )
    session.add(row)
    session.flush()
    audit.record(session, principal, "template.pushed", row.name, {"version": row.version})
    return row


def get_template(session: Session, org_id: int, name: str, version: int | None = None) -> Template:
    query = select(Template).where(Template.org_id == org_id, Template.name == name)
    if version is not None:
        query = query.where(Template.version == version)
    row = session.scalar(query.order_by(Template.version.desc()).limit(1))
    if row is None:
        suffix = f" version {version}" if version is not None else ""
        raise NotFound(f"Template '{name}'{suffix} not found")
    return row


def show_template(
    session: Session, principal: Principal, name: str, version: int | None = None
) -> Template:
    require(principal, "templates:read")
    return get_template(session, principal.org_id, name, version)


def list_templates(session: Session, principal: Principal) -> list[Template]:
    """The newest version of each template."""
    require(principal, "templates:read")
    org_id = principal.org_id
    newest = (
        select(Template.name, func.max(Template.version).label("v"))
        .where(Template.org_id == org_id)
        .group_by(Template.name)
        .subquery()
    )
    return list(
        session.scalars(
            select(Template)
            .join(newest, (Template.name == newest.c.name) & (Template.version == newest.c.v))
            .where(Template.org_id == org_id)
            .order_by(Template.name)
        )
    )


def template_versions(session: Session, principal: Principal, name: str) -> list[Template]:
    require(principal, "templates:read")
    org_id = principal.org_id
    rows = list(
        session.scalars(
            select(Template)
            .where(Template.org_id == org_id, Template.name == name)
            .order_by(Template.version)
        )
    )
    if not rows:
        raise NotFound(f"Template '{name}' not found")
    return rows


def spec_of(row: Template) -> TemplateSpec:
    return TemplateSpec.model_validate(row.spec)
