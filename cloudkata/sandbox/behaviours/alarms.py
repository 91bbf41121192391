"""CloudWatch alarms: evaluated on the simulated clock, and their actions run.

moto's alarms start in ``OK`` and never change: ``put-metric-data`` moves nothing and no
action ever runs. On AWS an alarm starts in ``INSUFFICIENT_DATA``; every period CloudWatch
takes the statistic of each of the last ``EvaluationPeriods`` periods of its metric (same
namespace, name and dimensions), counts the breaching ones against ``DatapointsToAlarm``,
treats missing data as ``TreatMissingData`` says, and sets ``StateValue``/``StateReason``,
writing alarm history. On a transition it runs the actions for the new state; Auto Scaling
policy actions are run again every period while the alarm stays in ``ALARM``, which is how a
target-tracking policy keeps scaling out under sustained load. ``set-alarm-state`` changes
the state until the next evaluation, and runs the actions too (labs use it to test scaling).

Evaluation happens at each period boundary of the simulated clock, in time order; after an
idle gap (the learner's pace keeps running with nobody asking) missed boundaries are caught
up, over at most the last three simulated hours. Metric-math and composite alarms are stored but not
evaluated. ``DescribeAlarmHistory`` (missing in moto) is answered from the history kept here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from .. import patches
from ..control import api
from ..control.backends import loaded
from ..control.plane import ControlPlane, Request, reconciler
from . import app_autoscaling
from .scaling_common import AlarmTrigger

JSON_10 = "application/x-amz-json-1.0"
MAX_CATCH_UP = 3 * 3600
"""Seconds of missed evaluations caught up after an idle gap (``load_metrics`` backfills
an hour more, so the first caught-up evaluations still find their datapoints)."""
MAX_HISTORY = 5000
_OPERATORS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}

_clock: list[Callable[[], float]] = []
"""The plane's clock, remembered at each reconcile, for moto patches that need "now"."""


def _sim_now() -> float:
    import time

    return _clock[0]() if _clock else time.time()


def _naive(when: float) -> datetime:
    """moto keeps naive UTC datetimes."""
    return datetime.fromtimestamp(when, UTC).replace(tzinfo=None)


def _epoch(moment: datetime) -> float:
    return moment.replace(tzinfo=moment.tzinfo or UTC).timestamp()


def _state(plane: ControlPlane) -> dict[str, Any]:
    state: dict[str, Any] = plane.module_state("alarms", dict)
    state.setdefault("next", {})  # alarm key -> next evaluation (simulated epoch seconds)
    state.setdefault("history", [])  # DescribeAlarmHistory items, oldest first
    return state


# --------------------------------------------------------------------------- moto fixes


def _patch_alarms_start_insufficient_data() -> None:
    """A new alarm is INSUFFICIENT_DATA until its first evaluation (moto: OK). Updating an
    alarm keeps its state and history, as AWS does."""
    from moto.cloudwatch.models import CloudWatchBackend

    @patches.wrap(CloudWatchBackend, "put_metric_alarm",
                  why="a new alarm is INSUFFICIENT_DATA; an update keeps state and history")
    def put_metric_alarm(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("name", args[0] if args else None)
        previous = self.alarms.get(name)
        alarm = original(self, *args, **kwargs)
        now = _naive(_sim_now())
        alarm.configuration_updated_timestamp = now
        if previous is not None and previous is not alarm:
            for field in ("state_value", "state_reason", "state_reason_data",
                          "state_updated_timestamp", "history"):
                setattr(alarm, field, getattr(previous, field))
            alarm._cloudkata_event = "updated"
        else:
            alarm.state_value = "INSUFFICIENT_DATA"
            alarm.state_updated_timestamp = now
            alarm._cloudkata_event = "created"
        return alarm


def _patch_put_metric_data_at_simulated_now() -> None:
    """A datapoint sent without a Timestamp is stamped with the time CloudWatch received it:
    the simulated now (moto uses the real clock, which the sandbox's pace leaves behind)."""
    from moto.cloudwatch.models import CloudWatchBackend

    @patches.wrap(CloudWatchBackend, "put_metric_data",
                  why="a datapoint without a Timestamp is stamped with the simulated now")
    def put_metric_data(original: Any, self: Any, namespace: str,
                        metric_data: list[dict[str, Any]]) -> None:
        now = _naive(_sim_now())
        for datum in metric_data:
            if isinstance(datum, dict) and not datum.get("Timestamp"):
                datum["Timestamp"] = now
        original(self, namespace, metric_data)


def _patch_set_alarm_state_runs_actions() -> None:
    """``set-alarm-state`` is a transition like any other: AWS writes history and runs the
    new state's actions. moto only changes the fields; we note the change for the
    reconciler, which runs right after the request."""
    from moto.cloudwatch.models import CloudWatchBackend

    @patches.wrap(CloudWatchBackend, "set_alarm_state",
                  why="set-alarm-state is a transition: history written, actions run")
    def set_alarm_state(original: Any, self: Any, alarm_name: str, reason: str,
                        reason_data: str, state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        old = (alarm.state_value, alarm.state_reason) if alarm is not None else None
        original(self, alarm_name, reason, reason_data, state_value)
        alarm = self.alarms[alarm_name]
        alarm.state_updated_timestamp = _naive(_sim_now())
        alarm._cloudkata_manual = old


_patch_alarms_start_insufficient_data()
_patch_put_metric_data_at_simulated_now()
_patch_set_alarm_state_runs_actions()


# --------------------------------------------------------------------------- evaluation


@dataclass
class Evaluation:
    state: str
    reason: str
    reason_data: str
    latest: float | None


class _Index:
    """The backend's datapoints grouped by metric identity, built once per pass.

    Only stored datapoints: moto's computed S3 metrics would wake the S3 backend."""

    def __init__(self, cloudwatch: Any) -> None:
        self.by_metric: dict[tuple[Any, ...], list[tuple[float, Any]]] = {}
        for datum in list(cloudwatch.metric_data):
            key = (datum.namespace, datum.name,
                   frozenset((d.name, d.value) for d in datum.dimensions))
            self.by_metric.setdefault(key, []).append((_epoch(datum.timestamp), datum))

    def datapoints(self, alarm: Any) -> list[tuple[float, Any]]:
        key = (alarm.namespace, alarm.metric_name,
               frozenset((d.name, d.value) for d in alarm.dimensions))
        found = self.by_metric.get(key, [])
        if alarm.unit:
            found = [(t, d) for t, d in found if d.unit in (None, alarm.unit)]
        return found


def _statistic(data: list[Any], statistic: str | None, extended: str | None) -> float | None:
    from moto.cloudwatch.models import MetricAggregatedDatum

    values: list[float] = []
    count = total = 0.0
    low, high = math.inf, -math.inf
    for datum in data:
        if isinstance(datum, MetricAggregatedDatum):
            count += datum.sample_count
            total += datum.sum
            low, high = min(low, datum.min), max(high, datum.max)
        else:
            values.append(datum.value)
            count += 1
            total += datum.value
            low, high = min(low, datum.value), max(high, datum.value)
    if not count:
        return None
    if extended and extended.startswith("p") and values:
        ordered = sorted(values)
        rank = max(0, math.ceil(float(extended[1:]) / 100 * len(ordered)) - 1)
        return ordered[min(rank, len(ordered) - 1)]
    return {"Sum": total, "Minimum": low, "Maximum": high, "SampleCount": count}.get(
        statistic or "Average", total / count)


def _stamp(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%d/%m/%y %H:%M:%S")


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _plural(count: int, word: str = "datapoint") -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def evaluate(alarm: Any, index: _Index, end: float) -> Evaluation | None:
    """The alarm's state from the ``EvaluationPeriods`` periods before ``end``; None when
    we do not evaluate this kind of alarm (metric math, anomaly bands, composite)."""
    operator = _OPERATORS.get(alarm.comparison_operator)
    if operator is None or alarm.metric_data_queries or alarm.rule or not alarm.metric_name:
        return None
    compare, words = operator
    period = max(1, int(alarm.period or 60))
    periods = max(1, int(alarm.evaluation_periods or 1))
    needed = max(1, min(periods, int(alarm.datapoints_to_alarm or periods)))
    threshold = float(alarm.threshold)
    start = end - periods * period
    buckets: list[list[Any]] = [[] for _ in range(periods)]
    for moment, datum in index.datapoints(alarm):
        if start <= moment < end:
            buckets[int((moment - start) // period)].append(datum)
    points: list[tuple[float, float | None]] = [
        (start + i * period, _statistic(bucket, alarm.statistic, alarm.extended_statistic))
        for i, bucket in enumerate(buckets)]
    recent = [(t, v) for t, v in reversed(points) if v is not None]  # newest first
    latest = recent[0][1] if recent else None
    missing = alarm.treat_missing_data or "missing"
    breaching = sum(1 for _, v in recent if compare(v, threshold))
    fine = len(recent) - breaching
    unknown = periods - len(recent)
    if missing == "breaching":
        breaching += unknown
    elif missing == "notBreaching":
        fine += unknown
    shown = ", ".join(f"{v} ({_stamp(t)})" for t, v in recent)
    data = json.dumps({
        "version": "1.0", "queryDate": _iso(end), "startDate": _iso(start),
        "statistic": alarm.statistic or alarm.extended_statistic, "period": period,
        "recentDatapoints": [v for _, v in reversed(recent)], "threshold": threshold,
        "evaluatedDatapoints": [{"timestamp": _iso(t), "value": v} for t, v in recent]})
    if breaching >= needed:
        reason = (f"Threshold Crossed: {breaching} out of the last {periods} datapoints "
                  f"[{shown}] were {words} the threshold ({threshold}) (minimum {needed} "
                  f"{'datapoint' if needed == 1 else 'datapoints'} for OK -> ALARM "
                  "transition).")
        return Evaluation("ALARM", reason, data, latest)
    if not recent and breaching == 0 and fine == 0:
        if missing == "ignore":
            return Evaluation(alarm.state_value, alarm.state_reason, alarm.state_reason_data,
                              None)
        reason = f"Insufficient Data: {_plural(periods)} {'was' if periods == 1 else 'were'}"
        return Evaluation("INSUFFICIENT_DATA", reason + " unknown.", data, None)
    if fine == 0:
        # only breaching datapoints, but fewer than DatapointsToAlarm: keep the state
        return Evaluation(alarm.state_value, alarm.state_reason, alarm.state_reason_data,
                          latest)
    reason = (f"Threshold Crossed: {_plural(len(recent))} [{shown}] "
              f"{'was' if len(recent) == 1 else 'were'} not {words} the threshold "
              f"({threshold}) (minimum 1 datapoint for ALARM -> OK transition).")
    return Evaluation("OK", reason, data, latest)


# --------------------------------------------------------------------------- history, actions


def _history(plane: ControlPlane, account: str, region: str, alarm: Any, kind: str,
             summary: str, data: dict[str, Any], when: float) -> None:
    items: list[dict[str, Any]] = _state(plane)["history"]
    items.append({"account": account, "region": region, "AlarmName": alarm.name,
                  "AlarmType": "CompositeAlarm" if alarm.rule else "MetricAlarm",
                  "Timestamp": when, "HistoryItemType": kind, "HistorySummary": summary,
                  "HistoryData": json.dumps(data)})
    del items[:-MAX_HISTORY]


def _actions_for(alarm: Any, state: str) -> list[str]:
    if not alarm.actions_enabled:
        return []
    return list({"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions,
                 "INSUFFICIENT_DATA": alarm.insufficient_data_actions}.get(state) or [])


def _run_actions(plane: ControlPlane, account: str, region: str, alarm: Any,
                 latest: float | None, when: float, transition: bool) -> None:
    trigger = AlarmTrigger(
        alarm_name=alarm.name, state=alarm.state_value, metric_value=latest,
        threshold=float(alarm.threshold or 0), comparison=alarm.comparison_operator or "",
        when=when)
    for arn in _actions_for(alarm, alarm.state_value):
        if not app_autoscaling.is_scaling_action(arn):
            continue  # SNS, EC2 and Systems Manager actions are not simulated
        outcome = app_autoscaling.execute_action(plane, arn, trigger)
        if transition:
            ok = outcome is not None
            summary = (f"Successfully executed action {arn}" if ok
                       else f"Failed to execute action {arn}")
            _history(plane, account, region, alarm, "Action", summary,
                     {"actionState": "Succeeded" if ok else "Failed", "notificationResource":
                      arn, "stateUpdateTimestamp": int(when * 1000),
                      "message": outcome or "the policy does not exist"}, when)


def _set_state(plane: ControlPlane, account: str, region: str, alarm: Any,
               result: Evaluation, when: float) -> bool:
    """Apply an evaluation; True when the state changed."""
    old_state, old_reason = alarm.state_value, alarm.state_reason
    if result.state == old_state:
        return False
    alarm.state_value = result.state
    alarm.state_reason = result.reason
    alarm.state_reason_data = result.reason_data
    alarm.state_updated_timestamp = _naive(when)
    _record_transition(plane, account, region, alarm, old_state, old_reason, when)
    return True


def _record_transition(plane: ControlPlane, account: str, region: str, alarm: Any,
                       old_state: str, old_reason: str, when: float) -> None:
    _history(plane, account, region, alarm, "StateUpdate",
             f"Alarm updated from {old_state} to {alarm.state_value}",
             {"version": "1.0",
              "oldState": {"stateValue": old_state, "stateReason": old_reason},
              "newState": {"stateValue": alarm.state_value,
                           "stateReason": alarm.state_reason,
                           "stateReasonData": _json(alarm.state_reason_data)}}, when)


def _json(text: str | None) -> Any:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return {}


# --------------------------------------------------------------------------- reconciler


@reconciler(60)
def evaluate_alarms(plane: ControlPlane) -> None:
    """Evaluate each alarm at every boundary of its period, oldest boundary first."""
    if not _clock:
        _clock.append(plane.now)
    else:
        _clock[0] = plane.now
    state = _state(plane)
    schedule: dict[str, float] = state["next"]
    now = plane.now()
    due: list[tuple[float, int, str, str, Any, Any]] = []
    live: set[str] = set()
    for account, region, cloudwatch in loaded("cloudwatch"):
        for alarm in list(cloudwatch.alarms.values()):
            key = f"{account}|{region}|{alarm.name}"
            live.add(key)
            _notice_changes(plane, account, region, cloudwatch, alarm, schedule, key, now)
            period = max(1, int(alarm.period or 60))
            upcoming = schedule.get(key)
            if upcoming is None:
                upcoming = schedule[key] = (math.floor(now / period) + 1) * period
            if upcoming > now:
                continue
            first = max(upcoming, math.ceil((now - MAX_CATCH_UP) / period) * period)
            boundary = first
            while boundary <= now:
                due.append((boundary, len(due), account, region, cloudwatch, alarm))
                boundary += period
            schedule[key] = boundary
    for key in [key for key in schedule if key not in live]:
        del schedule[key]
    if not due:
        return
    indexes: dict[int, _Index] = {}
    for boundary, _, account, region, cloudwatch, alarm in sorted(due, key=lambda d: d[:2]):
        if cloudwatch.alarms.get(alarm.name) is not alarm:
            continue  # deleted or replaced by an action earlier in this pass
        index = indexes.get(id(cloudwatch))
        if index is None:
            index = indexes[id(cloudwatch)] = _Index(cloudwatch)
        result = evaluate(alarm, index, boundary)
        if result is None:
            continue
        changed = _set_state(plane, account, region, alarm, result, boundary)
        if changed or alarm.state_value == "ALARM":
            _run_actions(plane, account, region, alarm, result.latest, boundary, changed)


def _notice_changes(plane: ControlPlane, account: str, region: str, cloudwatch: Any,
                    alarm: Any, schedule: dict[str, float], key: str, now: float) -> None:
    """History for creation/updates, and the transition a set-alarm-state made."""
    event = getattr(alarm, "_cloudkata_event", None)
    if event:
        alarm._cloudkata_event = None
        schedule.pop(key, None)  # (re)start evaluating from the next boundary
        verb = "created" if event == "created" else "updated"
        _history(plane, account, region, alarm, "ConfigurationUpdate",
                 f'Alarm "{alarm.name}" {verb}',
                 {"version": "1.0", "type": "Create" if event == "created" else "Update",
                  "createdAlarm" if event == "created" else "updatedAlarm": {
                      "alarmName": alarm.name, "metricName": alarm.metric_name,
                      "namespace": alarm.namespace, "threshold": alarm.threshold,
                      "comparisonOperator": alarm.comparison_operator,
                      "evaluationPeriods": alarm.evaluation_periods,
                      "period": alarm.period, "statistic": alarm.statistic}}, now)
    manual = getattr(alarm, "_cloudkata_manual", None)
    if manual is not None:
        alarm._cloudkata_manual = None
        old_state, old_reason = manual
        if old_state != alarm.state_value:
            _record_transition(plane, account, region, alarm, old_state, old_reason, now)
            period = max(1, int(alarm.period or 60))
            result = evaluate(alarm, _Index(cloudwatch), math.floor(now / period) * period)
            _run_actions(plane, account, region, alarm, result.latest if result else None,
                         now, True)


# --------------------------------------------------------------------------- DescribeAlarmHistory


@api.before("monitoring", action="DescribeAlarmHistory")
def describe_alarm_history(plane: ControlPlane, request: Request) -> api.Response:
    """moto has no DescribeAlarmHistory: answer from the history kept by the evaluator."""
    params = request.params
    name = params.get("AlarmName")
    kind = params.get("HistoryItemType")
    types = params.get("AlarmTypes") or []
    if isinstance(types, str):
        types = [types]
    start, end = _when(params.get("StartDate")), _when(params.get("EndDate"))
    items = [
        item for item in _state(plane)["history"]
        if item["account"] == request.account_id and item["region"] == request.region
        and (not name or item["AlarmName"] == name)
        and (not kind or item["HistoryItemType"] == kind)
        and (not types or item["AlarmType"] in types)
        and (start is None or item["Timestamp"] >= start)
        and (end is None or item["Timestamp"] <= end)]
    if params.get("ScanBy") != "TimestampAscending":
        items = list(reversed(items))
    try:
        offset = int(params.get("NextToken") or 0)
        limit = max(1, min(100, int(params.get("MaxRecords") or 100)))
    except (TypeError, ValueError):
        offset, limit = 0, 100
    page = items[offset:offset + limit]
    token = str(offset + limit) if offset + limit < len(items) else None
    fields = ("AlarmName", "AlarmType", "Timestamp", "HistoryItemType", "HistorySummary",
              "HistoryData")
    if not request.json:  # the query (XML) protocol, as older SDKs speak it
        return api.Response(200, _history_xml(page, token, fields), "text/xml")
    body: dict[str, Any] = {"AlarmHistoryItems": [{f: item[f] for f in fields}
                                                   for item in page]}
    if token:
        body["NextToken"] = token
    return api.Response(200, body, JSON_10)


def _when(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return _epoch(moment)


def _history_xml(page: list[dict[str, Any]], token: str | None,
                 fields: tuple[str, ...]) -> str:
    members = []
    for item in page:
        values = dict(item, Timestamp=datetime.fromtimestamp(item["Timestamp"], UTC)
                      .strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        members.append("<member>" + "".join(
            f"<{f}>{escape(str(values[f]))}</{f}>" for f in fields) + "</member>")
    next_token = f"<NextToken>{token}</NextToken>" if token else ""
    return ('<DescribeAlarmHistoryResponse xmlns="http://monitoring.amazonaws.com/doc/'
            '2010-08-01/"><DescribeAlarmHistoryResult><AlarmHistoryItems>'
            + "".join(members) + f"</AlarmHistoryItems>{next_token}"
            "</DescribeAlarmHistoryResult><ResponseMetadata><RequestId>cloudkata</RequestId>"
            "</ResponseMetadata></DescribeAlarmHistoryResponse>")
