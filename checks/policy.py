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

The least-privilege review at the end (``broad_grants``) also reads AWS's action catalogue and
ARN formats from policy-sentry (bundled data, no network), imported lazily when first needed.
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
    "action_access_level",
    "broad_grants",
    "evaluate",
    "has_wildcard",
    "matches",
    "parse_document",
    "resource_breadth",
    "wildcard_action_phrase",
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
#
# Any "*" or "?" in an action or a resource is a wildcard, and NotAction/NotResource are
# wildcards by construction. An Allow statement is a finding when:
#
# * an action holds a wildcard (even "ecr:Batch*" or "iam:Pass*"): least privilege names exact
#   actions. The finding says what the wildcard really grants today, expanded against AWS's
#   own action catalogue (policy-sentry's copy, with access levels);
# * a resource's wildcard ranges over more than what lives inside ONE named resource: "*",
#   "arn:aws:s3:::*" (every bucket), ".../repository/*" (every repository), a wildcard in the
#   region or account, "arn:aws:s3:::kata-*". A wildcard inside one named resource is how IAM
#   names its contents and is not a finding: "arn:aws:s3:::bucket/*" (the objects of one
#   bucket), "log-group:/ecs/app:*" (the streams of one log group). Which names are resource
#   types and which are your names comes from AWS's ARN formats (policy-sentry again);
# * it uses NotAction or NotResource.
#
# policy-sentry loads a 13 MB catalogue when imported, so it is imported only here, lazily.

ACCESS_LEVELS = ("Read", "List", "Write", "Tagging", "Permissions management")
_SHOWN_ACTIONS = 3


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def broad_grants(document: dict | str) -> list[str]:
    """Plain-English findings about over-broad Allow statements, for least-privilege review.

    One finding per statement, naming it by Sid (or number) and saying what it really grants,
    e.g. ``Statement 'S3' allows s3:*Object, which grants 5 actions (s3:DeleteObject, ...;
    1 Read, 4 Write) on arn:aws:s3:::* (every bucket)``. Deny statements are never findings: a
    broad Deny only takes permissions away. An empty list means tight.
    """
    findings: list[str] = []
    for number, statement in enumerate(_statements(parse_document(document)), start=1):
        if statement.get("Effect") == "Allow":
            finding = _statement_finding(_statement_name(number, statement), statement)
            if finding:
                findings.append(finding)
    return findings


def _statement_name(number: int, statement: dict) -> str:
    sid = statement.get("Sid")
    return f"Statement '{sid}'" if isinstance(sid, str) and sid else f"Statement {number}"


def _statement_finding(name: str, statement: dict) -> str | None:
    actions = _string_list(statement, "Action")
    not_actions = _string_list(statement, "NotAction")
    resources = _string_list(statement, "Resource")
    not_resources = _string_list(statement, "NotResource")
    if (actions is None and not_actions is None) or (resources is None and not_resources is None):
        return None  # IAM refuses such a statement; it grants nothing
    wild_actions = [action for action in actions or [] if has_wildcard(action)]
    breadths = [(resource, resource_breadth(resource)) for resource in resources or []]
    if not (wild_actions or not_actions is not None or not_resources is not None
            or any(breadth for _, breadth in breadths)):
        return None
    if not_actions is not None:
        granted = _not_action_phrase(not_actions)
    elif wild_actions:
        granted = ", and ".join(wildcard_action_phrase(action) for action in wild_actions)
    else:
        granted = _short_list(actions or [])
    if not_resources is not None:
        where = f"every resource except {', '.join(not_resources)} (NotResource)"
    else:
        where = ", ".join(f"{resource} ({breadth})" if breadth else resource
                          for resource, breadth in breadths)
    return f"{name} allows {granted} on {where}"


def _short_list(items: list[str]) -> str:
    shown = ", ".join(items[:_SHOWN_ACTIONS])
    more = len(items) - _SHOWN_ACTIONS
    return f"{shown} and {more:,} more" if more > 0 else shown


# --- what an action wildcard grants ---


def wildcard_action_phrase(pattern: str) -> str:
    """``"s3:*Object, which grants 5 actions (s3:DeleteObject, ...; 1 Read, 4 Write)"``."""
    service, colon, name = pattern.partition(":")
    if set(pattern) == {"*"}:
        total, services = _catalogue_size()
        return (f"{pattern}, which grants every action of every AWS service "
                f"({total:,} actions in {services} services)")
    if not colon or has_wildcard(service):
        granted = [a for a in _all_actions() if matches(pattern, a, case_sensitive=False)]
        services = len({a.split(":", 1)[0] for a in granted})
        if not granted:
            return f"{pattern} (a wildcard that matches no AWS action today)"
        return (f"{pattern}, which grants {_count(len(granted))} in {services} "
                f"service{'s' if services != 1 else ''} ({_short_list(granted)})")
    catalogue = _service_actions(service)
    if not catalogue:
        return (f"{pattern} (a wildcard over {service}, a service AWS's action catalogue "
                "does not list)")
    granted = [a for a in catalogue if matches(pattern, a, case_sensitive=False)]
    if not granted:
        return (f"{pattern} (a wildcard that matches no {service.lower()} action today, "
                "but would match one AWS adds later)")
    levels = _level_summary(granted)
    if set(name) == {"*"}:
        return (f"{pattern}, which grants every {service.lower()} action "
                f"({_count(len(granted))}: {levels})")
    listed = ", ".join(granted[:_SHOWN_ACTIONS]) + (", ..." if len(granted) > _SHOWN_ACTIONS
                                                     else "")
    return f"{pattern}, which grants {_count(len(granted))} ({listed}; {levels})"


def _not_action_phrase(excluded: list[str]) -> str:
    everything = _all_actions()
    kept = [a for a in everything
            if not any(matches(p, a, case_sensitive=False) for p in excluded)]
    return (f"every action except {', '.join(excluded)} (NotAction), which grants "
            f"{len(kept):,} of AWS's {len(everything):,} actions")


def _count(number: int) -> str:
    return f"{number:,} action" + ("" if number == 1 else "s")


def _level_summary(actions: list[str]) -> str:
    counts = dict.fromkeys(ACCESS_LEVELS, 0)
    unknown = 0
    for action in actions:
        level = action_access_level(action)
        if level in counts:
            counts[level] += 1
        else:
            unknown += 1
    parts = [f"{count} {level}" for level, count in counts.items() if count]
    if unknown:
        parts.append(f"{unknown} of unknown access level")
    return ", ".join(parts)


def action_access_level(action: str) -> str | None:
    """AWS's access level of one action (Read, List, Write, Tagging, Permissions management)."""
    from policy_sentry.querying.actions import get_action_data

    service, _, name = action.partition(":")
    entries = get_action_data(service.lower(), name).get(service.lower()) or []
    return entries[0].get("access_level") if entries else None


@lru_cache(maxsize=256)
def _service_actions(service: str) -> tuple[str, ...]:
    """Every action of one service, sorted, as AWS spells them; empty for an unknown one."""
    from policy_sentry.querying.actions import get_actions_for_service

    return tuple(sorted(get_actions_for_service(service.lower())))


@lru_cache(maxsize=1)
def _all_actions() -> tuple[str, ...]:
    from policy_sentry.querying.all import get_all_actions

    return tuple(sorted(get_all_actions()))


def _catalogue_size() -> tuple[int, int]:
    actions = _all_actions()
    return len(actions), len({a.split(":", 1)[0] for a in actions})


# --- what a resource wildcard ranges over ---


def resource_breadth(resource: str) -> str | None:
    """Words for what a wildcard resource covers, or None when it stays inside one resource.

    ``"*"`` → ``"every resource"``; ``arn:aws:s3:::*`` → ``"every bucket"``;
    ``arn:aws:ecs:*:*:task/*/*`` → ``"every task, in every region and every account"``;
    ``arn:aws:s3:::kata-assets/*`` → None (the objects of one named bucket).
    """
    if not has_wildcard(resource):
        return None
    if set(resource) == {"*"}:
        return "every resource"
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return "a wildcard outside any resource ARN"
    _, partition, service, region, account, rest = parts
    if has_wildcard(partition) or has_wildcard(service):
        return "resources of any service"
    where = [_every(field, value) for field, value in (("region", region), ("account", account))
             if has_wildcard(value)]
    what = (_resource_part_breadth(service, (region, account), rest) if has_wildcard(rest)
            else None)
    if what is None and not where:
        return None
    scope = f"in {' and '.join(where)}" if where else ""
    return ", ".join(part for part in (what, scope) if part)


def _every(field: str, value: str) -> str:
    return f"every {field}" if set(value) == {"*"} else f"every {field} matching {value}"


def _field_fits(ours: str, theirs: str) -> bool:
    """Can an ARN with region (or account) ``ours`` have the format's ``theirs``?"""
    if has_wildcard(ours):
        return True
    if theirs.startswith("${"):
        return bool(ours)  # S3 buckets have no region: "arn:aws:s3:::x" is no access point
    return ours == theirs


def _resource_part_breadth(service: str, located: tuple[str, str], rest: str) -> str | None:
    first = min(i for i, char in enumerate(rest) if char in "*?")
    literal = rest[:first]
    landings: list[tuple[int, str, str | None]] = []
    for type_name, fields, tokens in _arn_formats(service):
        if not all(_field_fits(ours, theirs) for ours, theirs in zip(located, fields,
                                                                      strict=True)):
            continue
        outcome = _walk(tokens, literal)
        if outcome is None:
            continue
        named, partial = outcome
        if named:
            return None  # the wildcard stays inside a resource the policy names
        landings.append((len(tokens), type_name, partial))
    if not landings:
        return f"any resource matching {rest}"
    if any(partial is None for _, _, partial in landings):  # the resource type is open too
        return f"every {service} resource" + (f" matching {rest}" if literal else "")
    _, type_name, partial = min(landings, key=lambda landing: landing[:2])
    if not partial:
        return f"every {type_name}"
    if rest[first] == "*":
        return f"every {type_name} whose name starts with {partial}"
    return f"every {type_name} whose name matches {partial}{rest[first:]}"


def _walk(tokens: tuple[str, ...], text: str) -> tuple[bool, str | None] | None:
    """Read ``text`` (the ARN's resource part up to its first wildcard) along an ARN format.

    Returns None when no ARN of this format starts with ``text``; otherwise whether ``text``
    names a resource in full (a variable followed by its separator, e.g. the bucket in
    ``kata-assets/``), and the start of the name the wildcard falls in (``kata-`` for
    ``kata-*``), or None when it falls in the format's fixed text (``log-gr*``: the resource
    type itself is open). Variables are read up to their next separator (bucket names have no
    "/").
    """
    pos = 0
    named = False
    for index, token in enumerate(tokens):
        if token.startswith("${"):
            follower = tokens[index + 1] if index + 1 < len(tokens) else None
            if follower is None:
                return named, text[pos:]
            end = text.find(follower, pos)
            if end == -1:
                remaining = text[pos:]
                for size in range(min(len(follower), len(remaining) - 1), 0, -1):
                    if remaining.endswith(follower[:size]):
                        return True, ""  # the name is complete; the text ends in a separator
                return named, remaining
            if end == pos:
                return None  # an empty name
            named, pos = True, end
        elif len(text) - pos < len(token):
            return (named, None) if token.startswith(text[pos:]) else None
        elif text[pos:pos + len(token)] != token:
            return None
        else:
            pos += len(token)
    return named, None


@lru_cache(maxsize=256)
def _arn_formats(
    service: str,
) -> tuple[tuple[str, tuple[str, str], tuple[str, ...]], ...]:
    """(resource type, (region, account), resource part split into literals and ${Variables})
    for every ARN format of one service."""
    from policy_sentry.querying.arns import get_arn_types_for_service

    try:
        formats = get_arn_types_for_service(service)
    except (KeyError, TypeError):  # a service the catalogue does not know
        return ()
    result = []
    for type_name, arn in sorted(formats.items()):
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[2] == service:  # some services list others' ARNs too
            tokens = tuple(t for t in re.split(r"(\$\{[^}]+\})", parts[5]) if t)
            result.append((type_name, (parts[3], parts[4]), tokens))
    return tuple(result)
