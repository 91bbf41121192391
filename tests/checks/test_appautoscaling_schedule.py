"""The scheduled-action check (``cloudkata.checks.appautoscaling_schedule``) against the
real sandbox, on the state ``test_appautoscaling.Stack`` builds: it passes on the right
action and fails, naming what differs (hour, days, limits, zone), on the wrong one."""

from __future__ import annotations

import pytest

from cloudkata.checks import Status
from cloudkata.targets import Target

from .test_appautoscaling import DIMENSION, RESOURCE, SVC, Stack, run


@pytest.fixture
def stack(sandbox: Target) -> Stack:
    return Stack(sandbox)


# --- scheduled_action ----------------------------------------------------------------------


def test_scheduled_action_passes_on_a_cron_schedule(sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.scheduled()
    result = run(sandbox, "appautoscaling.scheduled_action", **SVC)
    assert result.status is Status.PASSED, result
    assert result.message == ("Scheduled action kata-web-business-hours sets min 2, max 4 for "
                              "service web in kata-cluster at cron(0 8 ? * MON-FRI *) (UTC).")


def test_scheduled_action_fails_when_there_is_none(sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    result = run(sandbox, "appautoscaling.scheduled_action", **SVC)
    assert result.status is Status.FAILED
    assert result.actual == "no scheduled action"


def test_scheduled_action_fails_on_another_kind_of_schedule(
        sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.scheduled("rate(1 day)", name="daily")
    result = run(sandbox, "appautoscaling.scheduled_action", **SVC)
    assert result.status is Status.FAILED
    assert result.actual == "daily: rate(1 day)"


def test_scheduled_action_fails_when_min_is_above_max(sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.scheduled(MinCapacity=4, MaxCapacity=2)
    result = run(sandbox, "appautoscaling.scheduled_action", **SVC)
    assert result.status is Status.FAILED
    assert result.actual == "kata-web-business-hours sets min 4 above max 2"


MORNING = {**SVC, "action": "kata-web-business-hours", "schedule": "cron(0 8 ? * MON-FRI *)",
           "min_capacity": 2, "max_capacity": 4}


def test_scheduled_action_by_name_passes_on_an_equivalent_schedule(
        sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.scheduled("cron(0 8 ? * 2-6 *)")
    result = run(sandbox, "appautoscaling.scheduled_action", **MORNING)
    assert result.status is Status.PASSED, result
    assert result.message == ("Scheduled action kata-web-business-hours sets min 2, max 4 for "
                              "service web in kata-cluster at cron(0 8 ? * 2-6 *) (UTC).")


def test_scheduled_action_fails_on_unix_day_numbers(sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.scheduled("cron(0 8 ? * 1-5 *)")
    result = run(sandbox, "appautoscaling.scheduled_action", **MORNING)
    assert result.status is Status.FAILED
    assert ("day of week 1-5 (= SUN-THU), not MON-FRI (AWS cron numbers the days 1 = SUN to "
            "7 = SAT)") in result.message
    assert result.expected == "cron(0 8 ? * MON-FRI *) (UTC): min 2, max 4"
    assert result.actual == "cron(0 8 ? * 1-5 *) (UTC): min 2, max 4"


def test_scheduled_action_fails_on_the_hour_the_limits_and_the_zone(
        sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.scaling.put_scheduled_action(
        ServiceNamespace="ecs", ScheduledActionName="kata-web-business-hours",
        ResourceId=RESOURCE, ScalableDimension=DIMENSION, Schedule="cron(0 20 ? * MON-FRI *)",
        Timezone="Europe/Berlin", ScalableTargetAction={"MaxCapacity": 3})
    result = run(sandbox, "appautoscaling.scheduled_action", **MORNING)
    assert result.status is Status.FAILED
    assert "hour 20, not 8" in result.message
    assert "it runs in time zone Europe/Berlin, not UTC" in result.message
    assert "it sets no minimum (the minimum would stay as it is, not 2)" in result.message
    assert "it sets the maximum to 3, not 4" in result.message


def test_scheduled_action_is_found_by_discovery_with_the_same_schedule(
        sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.scheduled(name="morning-rush", MinCapacity=2, MaxCapacity=4)
    result = run(sandbox, "appautoscaling.scheduled_action", **MORNING)
    assert result.status is Status.PASSED, result
    assert "morning-rush (found by discovery: no action kata-web-business-hours" \
        in result.message
    stack.scheduled("cron(0 9 ? * MON-FRI *)", name="morning-rush")
    result = run(sandbox, "appautoscaling.scheduled_action", **MORNING)
    assert result.status is Status.FAILED  # another time is not the lab's action
    assert "has no scheduled action kata-web-business-hours" in result.message
    assert result.actual == "morning-rush: cron(0 9 ? * MON-FRI *)"
