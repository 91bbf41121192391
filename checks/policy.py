"""Judge IAM permissions ourselves, from the policy documents attached to a role.

Why this exists: moto does not implement ``iam:SimulatePrincipalPolicy``, so a check such as
"may the instance role call ecs:RegisterContainerInstance?" cannot ask the service. Instead we
read the role's attached managed and inline policy documents and apply the core IAM rules:

* an explicit ``Deny`` in any statement wins;
* otherwise any matching ``Allow`` grants the call;
* otherwise the call is implicitly denied.

This is deliberately a small, pure evaluator (no boto3, no network). What it does not model,
and why that is acceptable for lab checks:

* ``Condition`` blocks are not evaluated — we have no request context (source IP, tags, MFA,
  ``ecs:CreateAction`` ...). A statement with a ``Condition`` is treated as applying, exactly
  as if the condition held. For Allow that can overstate a grant; for Deny it can overstate a
  denial. Lab checks ask "did the learner grant this at all?", which this answers.
* Policy variables such as ``${aws:username}`` are compared literally.
* Permission boundaries, SCPs, session policies and resource-based policies are ignored.
* A statement missing both ``Action`` and ``NotAction`` (or both ``Resource`` and
  ``NotResource``) matches nothing: IAM itself rejects such a statement.
* ``Effect`` must be exactly ``"Allow"`` or ``"Deny"`` (IAM is case-sensitive here); any other
  value grants and denies nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from urllib.parse import unquote

__all__ = [
    "Decision",
    "Evaluation",
    "broad_grants",
    "evaluate",
    "matches",
    "parse_document",
]


class Decision(StrEnum):
    """The outcome of evaluating one action on one resource."""

    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitly denied"
    IMPLICIT_DENY = "not allowed"


@dataclass(frozen=True)
class Evaluation:
    """A decision plus the statement that made it, so feedback can name the cause.

    ``matched`` reads like ``"policy AmazonECSTaskExecutionRolePolicy, statement 1"`` (with the
    statement's Sid in parentheses when it has one); it is ``None`` for an implicit deny,
    because no statement decided it.
    """

    decision: Decision
    matched: str | None

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOWED


# --- parsing -------------------------------------------------------------------------------


def parse_document(document: str | dict) -> dict:
    """Return a policy document as a dict.

    Accepts a dict (returned as is), a JSON string, or a URL-encoded JSON string: the raw IAM
    query API returns documents as ``%7B%22Version%22...`` and not every client decodes them.
    Plain JSON is tried first, because a valid document may itself contain ``%``.

    Raises ``ValueError`` with a readable message when the text is not a JSON object.
    """
    if isinstance(document, dict):
        return document
    if not isinstance(document, str):
        raise ValueError(
            f"a policy document must be a dict or a JSON string, not {type(document).__name__}"
        )
    text = document.strip()
    if not text:
        raise ValueError("the policy document is empty")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as plain_error:
        decoded = unquote(text)
        if decoded == text:
            raise ValueError(_json_message(plain_error)) from None
        try:
            parsed = json.loads(decoded)
        except json.JSONDecodeError as decoded_error:
            raise ValueError(_json_message(decoded_error)) from None
    if not isinstance(parsed, dict):
        raise ValueError(
            f"a policy document must be a JSON object, not a JSON {type(parsed).__name__}"
        )
    return parsed


def _json_message(error: json.JSONDecodeError) -> str:
    return (
        f"the policy document is not valid JSON: {error.msg} "
        f"(line {error.lineno}, column {error.colno})"
    )


def _statements(document: dict) -> list[dict]:
    """The document's statements as a list; IAM allows a single statement object too."""
    raw = document.get("Statement", [])
    statements = [raw] if isinstance(raw, dict) else raw
    if not isinstance(statements, list):
        raise ValueError('"Statement" must be an object or a list of objects')
    for number, statement in enumerate(statements, start=1):
        if not isinstance(statement, dict):
            raise ValueError(f"statement {number} is not a JSON object")
    return statements


def _string_list(statement: dict, key: str) -> list[str] | None:
    """``Action``/``Resource`` and friends may be one string or a list; None when absent."""
    if key not in statement:
        return None
    value = statement[key]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(item, str) for item in values):
        raise ValueError(f'"{key}" must be a string or a list of strings')
    return values


# --- matching ------------------------------------------------------------------------------


def matches(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    """IAM wildcard match of a whole ``value``.

    ``*`` matches any run of characters (including none, and including ``:`` and ``/``);
    ``?`` matches exactly one character; everything else is literal. IAM compares action
    names case-insensitively and resource ARNs case-sensitively, hence the required flag.
    """
    return _compile(pattern, case_sensitive).fullmatch(value) is not None


@lru_cache(maxsize=1024)
def _compile(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    parts = (".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    flags = re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE
    return re.compile("".join(parts), flags)


def _covers(statement: dict, positive: str, negative: str, value: str, *, case: bool) -> bool:
    """Does `positive` (e.g. Action) or, if absent, `negative` (NotAction) cover value?"""
    included = _string_list(statement, positive)
    if included is not None:
        return any(matches(p, value, case_sensitive=case) for p in included)
    excluded = _string_list(statement, negative)
    if excluded is not None:
        return not any(matches(p, value, case_sensitive=case) for p in excluded)
    return False


def _applies(statement: dict, action: str, resource: str) -> bool:
    """Action and resource both covered; a Condition is assumed to hold (see module doc)."""
    return _covers(statement, "Action", "NotAction", action, case=False) and _covers(
        statement, "Resource", "NotResource", resource, case=True
    )


# --- evaluation ----------------------------------------------------------------------------


def evaluate(
    policies: list[tuple[str, dict | str]], action: str, resource: str = "*"
) -> Evaluation:
    """Decide whether the given policies let a principal call ``action`` on ``resource``.

    ``policies`` are ``(label, document)`` pairs, e.g. the role's attached managed policies
    (labelled by policy name) and inline policies. An explicit Deny anywhere wins over every
    Allow; otherwise the first matching Allow grants; otherwise the call is implicitly denied.

    ``resource`` defaults to ``"*"``, which is matched as a literal name — as the IAM policy
    simulator does — so only statements whose Resource covers ``"*"`` itself (in practice
    ``"Resource": "*"``) apply. Pass a real ARN to judge a resource-scoped grant.
    """
    first_allow: str | None = None
    for label, effect, statement in _labelled_statements(policies):
        if not _applies(statement, action, resource):
            continue
        if effect == "Deny":
            return Evaluation(Decision.EXPLICIT_DENY, label)
        if effect == "Allow" and first_allow is None:
            first_allow = label
    if first_allow is not None:
        return Evaluation(Decision.ALLOWED, first_allow)
    return Evaluation(Decision.IMPLICIT_DENY, None)


def _labelled_statements(
    policies: list[tuple[str, dict | str]],
) -> Iterator[tuple[str, str, dict]]:
    """Yield (human label, Effect, statement) for every statement of every policy."""
    for policy_label, document in policies:
        for number, statement in enumerate(_statements(parse_document(document)), start=1):
            label = f"policy {policy_label}, statement {number}"
            sid = statement.get("Sid")
            if isinstance(sid, str) and sid:
                label += f" ({sid})"
            yield label, statement.get("Effect", ""), statement


# --- least-privilege review ----------------------------------------------------------------


def broad_grants(document: dict | str) -> list[str]:
    """Plain-English findings about over-broad Allow statements, for least-privilege review.

    Flags ``"*"`` actions, whole-service actions such as ``"s3:*"``, ``"Resource": "*"``,
    ``NotAction`` and ``NotResource``. Partial wildcards such as ``"ecr:Batch*"`` are not
    findings: they are a normal way to name a family of related actions. Deny statements are
    never findings — a broad Deny only takes permissions away. An empty list means tight.
    """
    findings: list[str] = []
    for number, statement in enumerate(_statements(parse_document(document)), start=1):
        if statement.get("Effect") == "Allow":
            findings.extend(_statement_findings(number, statement))
    return findings


def _statement_findings(number: int, statement: dict) -> list[str]:
    prefix = f"statement {number}"
    findings = [
        f"{prefix} {finding}" for finding in _action_findings(_string_list(statement, "Action"))
    ]
    if _string_list(statement, "NotAction") is not None:
        findings.append(f"{prefix} uses NotAction, which allows everything not listed")
    if "*" in (_string_list(statement, "Resource") or []):
        findings.append(f'{prefix} applies to every resource ("Resource": "*")')
    if _string_list(statement, "NotResource") is not None:
        findings.append(f"{prefix} uses NotResource, which applies to every resource not listed")
    return findings


def _action_findings(actions: list[str] | None) -> list[str]:
    findings = []
    for action in actions or []:
        if set(action) == {"*"}:
            findings.append(f'allows every action ("{action}")')
        elif _is_whole_service(action):
            service = action.split(":", 1)[0].lower()
            findings.append(f'allows every {service} action ("{action}")')
    return findings


def _is_whole_service(action: str) -> bool:
    """True for ``"service:*"`` (any number of stars after the colon)."""
    service, colon, name = action.partition(":")
    return bool(service) and bool(colon) and bool(name) and set(name) == {"*"}
