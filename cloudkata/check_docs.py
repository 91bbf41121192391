"""The check reference an author reads (``cloudkata dev checks``), generated so it can't drift.

Everything comes from the code: ids, titles and hints from the registry, parameters from each
check's pydantic model, what a check reads from its source (the AWS calls it and the helpers it
calls make, found by walking their syntax trees), and the example from the first lab step that
uses it.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml
from botocore.session import get_session
from pydantic.fields import FieldInfo

from cloudkata.checks import all_checks
from cloudkata.checks.registry import CheckSpec
from cloudkata.labs import Catalogue, LabFileError

CHECKS_PACKAGE = "cloudkata.checks"
SERVICE_CALLS = {"paginate", "iter_pages"}


@dataclass(frozen=True)
class ParamDoc:
    name: str
    type: str
    required: bool
    default: Any
    description: str | None


@dataclass
class CheckDoc:
    id: str
    title: str
    hint: str | None
    params: list[ParamDoc]
    reads: list[str]
    example: str | None = None
    used_by: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "hint": self.hint,
                "params": [vars(p) for p in self.params], "reads": self.reads,
                "example": self.example, "used_by": self.used_by}


def check_docs(catalogue: Catalogue | None = None) -> list[CheckDoc]:
    """Every registered check, documented; examples come from ``catalogue``'s labs."""
    docs = {spec.id: CheckDoc(spec.id, spec.title, spec.hint, _params(spec),
                              sorted(reads_of(spec.function)))
            for spec in sorted(all_checks().values(), key=lambda s: s.id)}
    for lab_id, step_id, use, params in _uses(catalogue):
        doc = docs.get(use)
        if doc is None:
            continue
        doc.used_by.append(f"{lab_id}/{step_id}")
        if doc.example is None:
            snippet = {"use": use, **({"with": params} if params else {})}
            doc.example = yaml.safe_dump([snippet], sort_keys=False, width=100).strip()
    for doc in docs.values():
        if doc.example is None:  # used by no lab yet: the shape an author fills in
            params = {p.name: f"<{p.name}>" for p in doc.params if p.required}
            snippet = {"use": doc.id, **({"with": params} if params else {})}
            doc.example = yaml.safe_dump([snippet], sort_keys=False, width=100).strip()
    return list(docs.values())


def _params(spec: CheckSpec) -> list[ParamDoc]:
    fields: dict[str, FieldInfo] = spec.params.model_fields
    return [ParamDoc(name, _type_name(info.annotation), info.is_required(),
                     None if info.is_required() else info.get_default(call_default_factory=True),
                     info.description)
            for name, info in fields.items()]


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _uses(catalogue: Catalogue | None) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    if catalogue is None:
        return
    for lab_id in catalogue.ids():
        try:
            lab = catalogue.load(lab_id)
        except LabFileError:
            continue  # `dev check` reports it; the reference still lists the checks
        for step in lab.steps:
            for ref in step.checks:
                yield lab.id, step.id, ref.use, ref.with_


# --- what a check reads: its AWS calls, and those of the helpers it calls ----------------------

@cache
def _operation_names(service: str) -> dict[str, str]:
    """botocore's snake_case method names of a service -> API operation names."""
    from botocore import xform_name

    model = get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


def reads_of(function: Callable[..., Any]) -> set[str]:
    """``service:Operation`` for every AWS call reachable from ``function`` in the checks."""
    seen: set[Callable[..., Any]] = set()
    reads: set[str] = set()
    pending = [function]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        calls, callees = _direct_calls(current)
        reads |= calls
        pending.extend(callees)
    return reads


def _direct_calls(function: Callable[..., Any]) -> tuple[set[str], list[Callable[..., Any]]]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return set(), []
    module = sys.modules.get(function.__module__)
    reads: set[str] = set()
    callees: list[Callable[..., Any]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        read = _aws_call(node)
        if read:
            reads.add(read)
        if isinstance(node.func, ast.Name) and module is not None:
            target = getattr(module, node.func.id, None)
            if inspect.isfunction(target) and target.__module__.startswith(CHECKS_PACKAGE):
                callees.append(target)
    return reads, callees


def _aws_call(node: ast.Call) -> str | None:
    """``aws.ecs.describe_services(...)``, ``aws.client("x").paginate("op", ...)`` and
    ``aws.iter_pages("x", "op", ...)`` as ``ecs:DescribeServices``."""
    func = node.func
    if not isinstance(func, ast.Attribute):
        return None
    strings = [a.value for a in node.args if isinstance(a, ast.Constant)
               and isinstance(a.value, str)]
    if func.attr == "iter_pages" and len(strings) >= 2:
        return _read(strings[0], strings[1])
    service = _service_of(func.value)
    if service is None:
        return None
    if func.attr in SERVICE_CALLS:
        return _read(service, strings[0]) if strings else None
    return _read(service, func.attr)


def _service_of(node: ast.expr) -> str | None:
    """The service a client expression names: ``aws.ecs`` or ``aws.client("ecs")``."""
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "aws"):
        return node.attr.replace("_", "-")
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "client" and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return node.args[0].value
    return None


def _read(service: str, method: str) -> str | None:
    try:
        operation = _operation_names(service).get(method)
    except Exception:  # noqa: BLE001 - not a service botocore knows: not an AWS call
        return None
    return f"{service}:{operation}" if operation else None


def render_text(docs: list[CheckDoc]) -> str:
    """The reference as plain text, one block per check."""
    blocks = []
    for doc in docs:
        lines = [f"{doc.id} — {doc.title}"]
        for param in doc.params:
            default = "required" if param.required else f"default {param.default!r}"
            about = f": {param.description}" if param.description else ""
            lines.append(f"    {param.name} ({param.type}, {default}){about}")
        if not doc.params:
            lines.append("    (no parameters)")
        lines.append("  reads: " + (", ".join(doc.reads) or "no AWS API (files only)"))
        if doc.example:
            lines.append("  example:")
            lines.extend("    " + line for line in doc.example.splitlines())
        if doc.used_by:
            lines.append("  used by: " + ", ".join(doc.used_by))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
