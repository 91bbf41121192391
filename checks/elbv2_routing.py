"""ELBv2 routing checks: path rules (ordered, unshadowed) and weighted forwards.

Split from :mod:`elbv2`, which finds load balancers, listeners and target groups (with their
discovery rules) and judges them; these checks judge where a listener sends each request.
A canary's weights are checked for their lasting outcome: ``later`` splits are accepted too.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from .elbv2 import (
    _label,
    _listener_or_failure,
    _one,
    forward_weights,
    locate_target_group,
    rule_paths,
    rules,
    target_group_name,
)
from .registry import Params, check
from .result import Result, failed, passed
from .session import ReadOnlyAws


def _glob_regex(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                              for c in pattern), re.DOTALL)


def pattern_covers(broad: str, narrow: str) -> bool:
    """Does every request ``narrow`` matches also match ``broad``? (ALB wildcards * and ?)"""
    return _glob_regex(broad).fullmatch(narrow) is not None


def _condition_values(condition: dict[str, Any]) -> tuple[str, list[Any]]:
    field = condition.get("Field", "")
    for key, value in condition.items():
        if key.endswith("Config") and isinstance(value, dict):
            values = value.get("Values")
            return field, list(values) if values is not None else [value]
    return field, list(condition.get("Values") or [])


def rule_covers(earlier: dict[str, Any], later: dict[str, Any]) -> bool:
    """True when every request ``later`` matches is matched by ``earlier`` first."""
    later_conditions = dict(_condition_values(c) for c in later.get("Conditions") or [])
    for condition in earlier.get("Conditions") or []:
        field, values = _condition_values(condition)
        if field not in later_conditions:
            return False
        narrow = later_conditions[field]
        if field in ("path-pattern", "host-header"):
            if not all(any(pattern_covers(str(b), str(n)) for b in values) for n in narrow):
                return False
        elif not all(n in values for n in narrow):
            return False
    return True


def _priority(rule: dict[str, Any]) -> int:
    value = rule.get("Priority", "default")
    return int(value) if str(value).isdigit() else 1 << 30




def shadowed_rules(listener_rules: list[dict[str, Any]]
                   ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(earlier, later) pairs where the earlier rule catches every request of the later one."""
    ordered = sorted((r for r in listener_rules if not r.get("IsDefault")), key=_priority)
    pairs = []
    for index, later in enumerate(ordered):
        for earlier in ordered[:index]:
            if rule_covers(earlier, later):
                pairs.append((earlier, later))
                break
    return pairs


class PathRule(Params):
    path: str
    target_group: str


def _no_rule(aws: ReadOnlyAws, present: list[dict[str, Any]], wanted: PathRule,
             paths: set[str]) -> str:
    """"no rule for /api/*", and when a rule forwards to the wanted group under a pattern the
    lab does not ask for, which pattern that is (a missing wildcard is a common slip)."""
    group = _one(aws, "describe_target_groups", "TargetGroups", Names=[wanted.target_group])
    holders = [r for r in present if not r.get("IsDefault") and group is not None
               and not set(rule_paths(r)) & paths
               and group["TargetGroupArn"] in
               [arn for arn, _ in forward_weights(r.get("Actions") or []) or []]]
    if not holders:
        return f"no rule for {wanted.path}"
    return (f"no rule for {wanted.path} (the rule that forwards to {wanted.target_group}, "
            f"priority {holders[0].get('Priority')}, matches "
            f"{', '.join(rule_paths(holders[0])) or 'other conditions'} instead)")


class ListenerRulesParams(Params):
    load_balancer: str
    port: int = 80
    rules: list[PathRule] = Field(min_length=1)


@check("elbv2.listener_rules", title="Path rules forward to their target groups, unshadowed",
       params=ListenerRulesParams,
       hint="aws elbv2 create-rule --priority N --conditions Field=path-pattern,Values='/api/*' "
            "--actions Type=forward,TargetGroupArn=...; lower numbers are evaluated first.")
def listener_rules(aws: ReadOnlyAws, p: ListenerRulesParams) -> Result:
    found = _listener_or_failure(aws, p.load_balancer, p.port)
    if isinstance(found, Result):
        return found
    balancer, listener = found
    where = f"Listener :{p.port} of {balancer}"
    present = rules(aws, listener["ListenerArn"])
    missing, wrong, routed = [], [], []
    for wanted in p.rules:
        rule = next((r for r in present if wanted.path in rule_paths(r)), None)
        if rule is None:
            missing.append(_no_rule(aws, present, wanted, {r.path for r in p.rules}))
            continue
        siblings = tuple(r.target_group for r in p.rules if r.target_group != wanted.target_group)
        group, how = locate_target_group(aws, wanted.target_group, load_balancer=p.load_balancer,
                                         port=p.port, path=wanted.path, exclude=siblings)
        arns = [arn for arn, w in forward_weights(rule.get("Actions") or []) or [] if w > 0]
        if group is None or group["TargetGroupArn"] not in arns:
            names = ", ".join(target_group_name(aws, a) for a in arns) or "no target group"
            wrong.append(f"{wanted.path} forwards to {names}, not {wanted.target_group}")
        else:
            routed.append(f"{wanted.path} to {group['TargetGroupName']}{how}")
    if missing or wrong:
        listed = missing + wrong
        return failed(f"{where}: " + "; ".join(listed) + ".",
                      expected="; ".join(f"{r.path} -> {r.target_group}" for r in p.rules),
                      actual="rules: " + (", ".join(_label(r) for r in present
                                                    if not r.get("IsDefault")) or "none"))
    shadows = shadowed_rules(present)
    if shadows:
        sentences = [
            f"rule {_label(earlier)} comes before rule {_label(later)} and matches every "
            f"request it would, so rule {later.get('Priority')} never sees traffic"
            for earlier, later in shadows]
        return failed(
            f"{where}: " + "; ".join(sentences) + ". The load balancer tries rules from the "
            "lowest priority number up; give the narrower pattern the lower number.",
            expected="narrower path patterns at lower priority numbers than broader ones",
            actual="; ".join(f"{_label(e)} shadows {_label(lt)}" for e, lt in shadows))
    return passed(f"{where} sends " + ", ".join(routed) + ", and no rule shadows another.")


class Weight(Params):
    target_group: str
    weight: int = Field(ge=0, le=999)


class WeightsParams(Params):
    load_balancer: str
    port: int = 80
    weights: list[Weight] = Field(min_length=1,
                                  description="target groups and their weights, e.g. 90 and 10")
    later: list[list[Weight]] = Field(
        default_factory=list,
        description="splits that later steps of the lab move on to from this one (they keep "
                    "its outcome, so they pass too), e.g. a rollback's 100/0 after a canary")
    serving_healthy: bool = Field(
        default=True, description="every group that gets a share has a healthy target")


def _percent(pairs: list[tuple[str, int]]) -> dict[str, float]:
    total = sum(w for _, w in pairs)
    return {key: (100.0 * w / total if total else 0.0) for key, w in pairs}


def _split(shares: dict[str, float]) -> str:
    return ", ".join(f"{name} {share:g}%" for name, share in shares.items())


def _matches(shares: dict[str, float], wanted: dict[str, float]) -> bool:
    """Does the listener's split (by ARN) give every wanted group its share (0.5% slack) and
    no other group any traffic?"""
    return all(abs(shares.get(arn, 0.0) - share) <= 0.5 for arn, share in wanted.items()) and \
        not any(share > 0 for arn, share in shares.items() if arn not in wanted)


def _why_not(shares: dict[str, float], wanted: dict[str, float], raw: list[tuple[str, int]],
             names: dict[str, str]) -> str:
    """Words on how the split differs, when a common slip explains it."""
    got = sorted(round(shares.get(arn, 0.0), 1) for arn in wanted)
    # all-or-nothing splits swapped are more often an earlier step's state than a slip
    if got == sorted(round(v, 1) for v in wanted.values()) and len(set(got)) > 1 \
            and 0 not in got:
        return (" The shares are the wrong way round: each weight goes with the target group "
                "named in the same {TargetGroupArn=...,Weight=...} entry.")
    total = sum(w for _, w in raw)
    if total and total != 100:
        listed = " + ".join(f"{w} ({names.get(arn, arn)})" for arn, w in raw)
        return (f" Weights are relative, not percentages: a group gets its weight divided by "
                f"the sum of all weights, here {listed} = {total}.")
    return ""


def _healthy_count(aws: ReadOnlyAws, arn: str) -> int:
    described = aws.elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    return sum(t["TargetHealth"].get("State") == "healthy" for t in described)


@check("elbv2.listener_weights", title="The listener splits traffic by the weights asked",
       params=WeightsParams,
       hint="aws elbv2 modify-listener --default-actions with a ForwardConfig listing both "
            "target groups and their weights.")
def listener_weights(aws: ReadOnlyAws, p: WeightsParams) -> Result:
    found = _listener_or_failure(aws, p.load_balancer, p.port)
    if isinstance(found, Result):
        return found
    balancer, listener = found
    where = f"Listener :{p.port} of {balancer}"
    expected = _split(_percent([(w.target_group, w.weight) for w in p.weights]))
    weights = forward_weights(listener.get("DefaultActions") or [])
    if weights is None:
        return failed(f"{where} does not forward by default.",
                      expected=f"a weighted forward: {expected}", actual="no forward action")
    names = {arn: target_group_name(aws, arn) for arn, _ in weights}
    shares = _percent(weights)
    actual = _split({names[arn]: share for arn, share in shares.items()})
    lab_names = [w.target_group for w in p.weights]
    arns: dict[str, str] = {}
    absent = []
    for name in lab_names:
        group, how = locate_target_group(aws, name, load_balancer=p.load_balancer, port=p.port,
                                         exclude=tuple(n for n in lab_names if n != name))
        if group is None or group["TargetGroupArn"] not in shares:
            absent.append(name)
            continue
        arns[name] = group["TargetGroupArn"]
        names[group["TargetGroupArn"]] += how
    if absent:
        return failed(
            f"{where} forwards {actual}; {', '.join(absent)} is not in its forward action. A "
            f"weighted forward lists every group that shares the traffic, with weight 0 for "
            f"one that gets none for now.",
            expected=f"a weighted forward: {expected}", actual=actual)

    def by_arn(split: list[Weight]) -> dict[str, float]:
        return {arns[key]: share for key, share in
                _percent([(w.target_group, w.weight) for w in split]).items() if key in arns}

    wanted = by_arn(p.weights)
    later = next((split for split in p.later if _matches(shares, by_arn(split))), None)
    if not _matches(shares, wanted) and later is None:
        return failed(f"{where} sends {actual}; expected {expected}."
                      + _why_not(shares, wanted, weights, names),
                      expected=expected, actual=actual)
    if p.serving_healthy:
        empty = [arn for arn, share in shares.items()
                 if share > 0 and _healthy_count(aws, arn) == 0]
        if empty:
            groups = " and ".join(f"{shares[arn]:g}% to {names[arn]}" for arn in empty)
            which = "which has no healthy target" if len(empty) == 1 else \
                "which have no healthy targets"
            return failed(
                f"{where} sends {groups}, {which}: those requests get HTTP 503. A group "
                f"takes a share of the traffic only once its service's tasks are registered "
                f"and healthy in it.",
                expected=f"{expected}, every group with a share having healthy targets",
                actual=f"{actual}; no healthy targets in "
                       + ", ".join(names[arn] for arn in empty))
    split = _split({names[arn]: share for arn, share in shares.items()})
    if later is not None and not _matches(shares, wanted):
        return passed(f"{where} sends {split}: a later step of the lab moved it on from this "
                      f"step's {expected}.")
    return passed(f"{where} sends {split}.")


# ---------------------------------------------------------------------------------------------
# target health
