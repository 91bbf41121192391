"""The scaling-activity checks (``cloudkata.checks.appautoscaling_activity``: scaled_out,
scaled_in) against the real sandbox, on the state ``test_appautoscaling.Stack`` builds;
time moves only through ``manager.advance`` (the test sandbox's clock is frozen)."""

from __future__ import annotations

import pytest

from cloudkata.checks import Status
from cloudkata.targets import Target

from .test_appautoscaling import CLUSTER, SERVICE, SVC, Stack, run


@pytest.fixture
def stack(sandbox: Target) -> Stack:
    return Stack(sandbox)


# --- scaled_out / scaled_in ----------------------------------------------------------------


def _scale_out(stack: Stack) -> None:
    """Target tracking and the step alarm under 85% CPU until the service is at its max."""
    stack.register(1, 4)
    stack.target_tracking()
    stack.alarm([stack.step_policy()])
    stack.load(85)
    stack.advance(240)


def test_scaled_out_passes_once_new_tasks_run_behind_healthy_targets(
        sandbox: Target, stack: Stack) -> None:
    stack.build(desired=1, instances=2, load_balancer=True)
    _scale_out(stack)
    stack.advance(60)  # tasks start (10 s), targets pass 2 checks 10 s apart
    assert stack.service()["desiredCount"] == 4
    result = run(sandbox, "appautoscaling.scaled_out", **SVC, target_group="kata-web-tg")
    assert result.status is Status.PASSED, result
    assert "set the desired count from" in result.message
    assert "4 tasks run; 4 healthy targets in kata-web-tg" in result.message


def test_scaled_out_fails_before_any_load(sandbox: Target, stack: Stack) -> None:
    stack.build(desired=2).register(1, 4)
    stack.target_tracking()
    stack.advance(300)  # 20% CPU: AlarmHigh stays OK
    result = run(sandbox, "appautoscaling.scaled_out", **SVC)
    assert result.status is Status.FAILED
    assert "No alarm has scaled service web in kata-cluster out yet" in result.message
    assert result.actual == "no scale-out activity; desired count 2"


def test_scaled_out_fails_when_the_service_is_already_at_its_max(
        sandbox: Target, stack: Stack) -> None:
    stack.build(desired=4).register(1, 4)
    stack.target_tracking()
    stack.load(85)
    stack.advance(300)
    result = run(sandbox, "appautoscaling.scaled_out", **SVC)
    assert result.status is Status.FAILED
    assert "already wants 4 tasks, its maximum" in result.message


def test_scaled_out_fails_while_tasks_cannot_start(sandbox: Target, stack: Stack) -> None:
    stack.build(desired=1, instances=0)
    _scale_out(stack)
    result = run(sandbox, "appautoscaling.scaled_out", **SVC)
    assert result.status is Status.FAILED
    assert "ECS is still starting tasks: 0 of 4 run" in result.message


def test_scaled_out_fails_while_targets_are_still_checked(sandbox: Target, stack: Stack) -> None:
    stack.build(desired=1, instances=2, load_balancer=True, health_interval=300)
    _scale_out(stack)
    stack.advance(20)
    result = run(sandbox, "appautoscaling.scaled_out", **SVC, target_group="kata-web-tg")
    assert result.status is Status.FAILED
    assert "targets in kata-web-tg are healthy" in result.message
    assert result.expected == "4 healthy targets in kata-web-tg"


def test_scaled_out_fails_when_ecs_replaces_tasks_failing_health_checks(
        sandbox: Target, stack: Stack) -> None:
    """A health check on fixed port 80, while the tasks listen on dynamic host ports."""
    stack.build(desired=1, instances=2, load_balancer=True)
    _scale_out(stack)
    stack.advance(60)
    stack.elbv2.modify_target_group(TargetGroupArn=stack.target_group, HealthCheckPort="80")
    stack.advance(180)
    result = run(sandbox, "appautoscaling.scaled_out", **SVC, target_group="kata-web-tg")
    assert result.status is Status.FAILED, result
    assert "the tasks fail the load balancer's health checks" in result.message
    assert "ECS keeps stopping and replacing them" in result.message
    assert "checks them with HTTP on port 80, path /health" in result.message
    assert result.actual is not None and "stopped for failing ELB health checks" in result.actual


def test_scaled_out_fails_when_the_cluster_has_no_room(sandbox: Target, stack: Stack) -> None:
    """One t2.micro (982 MiB) holds three 256 MiB tasks, not the fourth."""
    stack.build(desired=1, instances=1)
    _scale_out(stack)
    stack.advance(60)
    result = run(sandbox, "appautoscaling.scaled_out", **SVC)
    assert result.status is Status.FAILED, result
    assert "the cluster has no room for the new tasks: 3 of 4 run" in result.message
    assert "unable to place a task" in result.message


def test_scaled_out_fails_when_the_service_is_not_behind_the_group(
        sandbox: Target, stack: Stack) -> None:
    """The lab's target group exists, but the service uses none: its health proves nothing."""
    stack.build(desired=1, instances=2, load_balancer=True)
    stack.ecs.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=0)
    stack.ecs.delete_service(cluster=CLUSTER, service=SERVICE)
    stack.ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition="kata-web",
                             desiredCount=1)
    _scale_out(stack)
    stack.advance(60)
    result = run(sandbox, "appautoscaling.scaled_out", **SVC, target_group="kata-web-tg")
    assert result.status is Status.FAILED, result
    assert "Service web is not behind target group kata-web-tg" in result.message
    assert result.actual == "target groups of the service: none"


def test_scaled_in_passes_after_the_load_goes(sandbox: Target, stack: Stack) -> None:
    stack.build(desired=1, instances=2)
    _scale_out(stack)
    stack.load(10)
    stack.advance(1200)  # 15 low minutes for AlarmLow, then one task per cooldown
    result = run(sandbox, "appautoscaling.scaled_in", **SVC)
    assert result.status is Status.PASSED, result
    assert "-AlarmLow-" in result.message  # target tracking's low alarm
    assert "set the desired count from 3 to 2" in result.message  # the latest scale-in
    assert result.message.endswith("now wants 2 tasks (2 scale-in activities).")


def test_scaled_in_fails_when_nothing_will_scale_in_again(
        sandbox: Target, stack: Stack) -> None:
    stack.build(desired=1, instances=2)
    _scale_out(stack)
    stack.load(10)
    stack.advance(1200)
    assert run(sandbox, "appautoscaling.scaled_in", **SVC).status is Status.PASSED
    stack.target_tracking(50.0, DisableScaleIn=True)
    result = run(sandbox, "appautoscaling.scaled_in", **SVC)
    assert result.status is Status.FAILED
    assert "nothing will scale service web in kata-cluster in the next time the load goes" \
        in result.message
    assert result.actual == "policy kata-web-cpu50 has DisableScaleIn true"
    stack.target_tracking(50.0)
    stack.register(1, 4, SuspendedState={"DynamicScalingInSuspended": True})
    result = run(sandbox, "appautoscaling.scaled_in", **SVC)
    assert result.status is Status.FAILED
    assert result.actual == "scale-in by policies is suspended (DynamicScalingInSuspended true)"


def test_scaled_in_fails_while_the_load_stays(sandbox: Target, stack: Stack) -> None:
    stack.build(desired=1, instances=2)
    _scale_out(stack)
    stack.advance(1200)
    result = run(sandbox, "appautoscaling.scaled_in", **SVC)
    assert result.status is Status.FAILED
    assert "still wants 4 tasks" in result.message


def test_scaled_in_ignores_scale_ins_before_the_scale_out(sandbox: Target,
                                                          stack: Stack) -> None:
    stack.build(desired=2).register(1, 4)
    stack.target_tracking()
    stack.advance(1500)  # idle: AlarmLow takes the service from 2 to 1
    assert stack.service()["desiredCount"] == 1
    result = run(sandbox, "appautoscaling.scaled_in", **SVC)
    assert result.status is Status.FAILED
    assert "never scaled out" in result.message
