"""ELBv2 checks against the real sandbox: each passes on the alb-service state and fails on the
mistakes learners make, with a message that names the resource and the cause."""

from __future__ import annotations

import pytest

from cloudkata.checks import Status
from cloudkata.checks.elbv2_routing import pattern_covers, shadowed_rules
from cloudkata.targets import Target

from .test_ecs_services import Kata, run

ALB = {"load_balancer": "kata-alb"}
TG = {"target_group": "kata-web-tg", "load_balancer": "kata-alb"}


@pytest.fixture
def kata(sandbox: Target) -> Kata:
    return Kata(sandbox).prerequisites()


def _rule(kata: Kata, priority: int, path: str, group: str) -> None:
    kata.elbv2.create_rule(ListenerArn=kata.ids["listener"], Priority=priority,
                           Conditions=[{"Field": "path-pattern", "Values": [path]}],
                           Actions=[{"Type": "forward", "TargetGroupArn": kata.ids[group]}])


def _weights(kata: Kata, **weights: int) -> None:
    groups = [{"TargetGroupArn": kata.ids[name.replace("_", "-")], "Weight": weight}
              for name, weight in weights.items()]
    kata.elbv2.modify_listener(ListenerArn=kata.ids["listener"], DefaultActions=[
        {"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}])


# --- load_balancer ---------------------------------------------------------------------------


def test_load_balancer_passes(sandbox: Target, kata: Kata) -> None:
    kata.security_groups().load_balancer()
    result = run(sandbox, "elbv2.load_balancer", name="kata-alb", security_group="kata-alb-sg")
    assert result.status is Status.PASSED, result.message
    assert "us-east-1a, us-east-1b" in result.message


def test_load_balancer_fails_when_missing(sandbox: Target, kata: Kata) -> None:
    result = run(sandbox, "elbv2.load_balancer", name="kata-alb")
    assert result.status is Status.FAILED
    assert result.message == "Load balancer kata-alb does not exist."


def test_load_balancer_fails_when_internal_in_one_zone(sandbox: Target, kata: Kata) -> None:
    kata.security_groups().load_balancer(subnets=kata.subnets[:1], scheme="internal")
    result = run(sandbox, "elbv2.load_balancer", name="kata-alb")
    assert result.status is Status.FAILED
    assert "its scheme is internal" in result.message
    assert "it is in 1 Availability Zone(s)" in result.message


# --- target_group ----------------------------------------------------------------------------


def test_target_group_passes(sandbox: Target, kata: Kata) -> None:
    kata.target_group()
    result = run(sandbox, "elbv2.target_group", **TG, task_definition="kata-web")
    assert result.status is Status.PASSED, result.message


def test_target_group_fails_when_missing(sandbox: Target, kata: Kata) -> None:
    kata.target_group("other-tg")
    result = run(sandbox, "elbv2.target_group", **TG)
    assert result.status is Status.FAILED
    assert result.message == "Target group kata-web-tg does not exist."
    assert result.actual == "target groups: other-tg"


def test_target_group_names_a_health_path_the_app_does_not_serve(sandbox: Target,
                                                                  kata: Kata) -> None:
    kata.target_group(path="/")
    result = run(sandbox, "elbv2.target_group", **TG)
    assert result.status is Status.FAILED
    assert "its health check asks for /, a path the app does not serve" in result.message
    assert result.actual == "health check path /"


def test_target_group_explains_ip_targets_with_bridge_tasks(sandbox: Target,
                                                           kata: Kata) -> None:
    kata.target_group(target_type="ip")
    result = run(sandbox, "elbv2.target_group", **TG, task_definition="kata-web")
    assert result.status is Status.FAILED
    assert "target type ip, but the task definition uses bridge networking" in result.message


def test_target_group_is_discovered_through_the_listener(sandbox: Target, kata: Kata) -> None:
    kata.security_groups().load_balancer()
    kata.ids["kata-web-tg"] = kata.target_group("stack-WebTG-XYZ")
    kata.listener()
    result = run(sandbox, "elbv2.target_group", **TG)
    assert result.status is Status.PASSED, result.message
    assert "stack-WebTG-XYZ" in result.message


# --- listener_forwards -----------------------------------------------------------------------


def test_listener_passes(sandbox: Target, kata: Kata) -> None:
    kata.security_groups().load_balancer().target_group()
    kata.listener()
    result = run(sandbox, "elbv2.listener_forwards", **ALB, target_group="kata-web-tg")
    assert result.status is Status.PASSED, result.message


def test_listener_fails_without_a_listener(sandbox: Target, kata: Kata) -> None:
    kata.security_groups().load_balancer().target_group()
    result = run(sandbox, "elbv2.listener_forwards", **ALB, target_group="kata-web-tg")
    assert result.status is Status.FAILED
    assert result.message == "Load balancer kata-alb has no listener on port 80."


def test_listener_fails_forwarding_elsewhere(sandbox: Target, kata: Kata) -> None:
    kata.security_groups().load_balancer().target_group()
    kata.target_group("kata-api-tg")
    kata.listener("kata-api-tg")
    result = run(sandbox, "elbv2.listener_forwards", **ALB, target_group="kata-web-tg")
    assert result.status is Status.FAILED
    assert result.message == ("Listener HTTP:80 of kata-alb forwards to kata-api-tg, not "
                              "kata-web-tg.")


# --- listener_rules --------------------------------------------------------------------------

RULES = [{"path": "/api/*", "target_group": "kata-api-tg"},
         {"path": "/auth/*", "target_group": "kata-auth-tg"}]


def _routed(kata: Kata) -> Kata:
    kata.security_groups().load_balancer().target_group()
    for name in ("kata-api-tg", "kata-auth-tg", "kata-catchall-tg"):
        kata.target_group(name)
    kata.listener()
    return kata


def test_rules_pass(sandbox: Target, kata: Kata) -> None:
    _routed(kata)
    _rule(kata, 10, "/api/*", "kata-api-tg")
    _rule(kata, 20, "/auth/*", "kata-auth-tg")
    _rule(kata, 30, "/*", "kata-catchall-tg")
    result = run(sandbox, "elbv2.listener_rules", **ALB, rules=RULES)
    assert result.status is Status.PASSED, result.message


def test_rules_fail_when_missing_or_misrouted(sandbox: Target, kata: Kata) -> None:
    _routed(kata)
    _rule(kata, 10, "/api/*", "kata-auth-tg")
    result = run(sandbox, "elbv2.listener_rules", **ALB, rules=RULES)
    assert result.status is Status.FAILED
    assert result.message == ("Listener :80 of kata-alb: no rule for /auth/*; /api/* forwards "
                              "to kata-auth-tg, not kata-api-tg.")


def test_rules_fail_naming_both_rules_when_one_shadows_another(sandbox: Target,
                                                               kata: Kata) -> None:
    _routed(kata)
    _rule(kata, 5, "/*", "kata-catchall-tg")
    _rule(kata, 10, "/api/*", "kata-api-tg")
    _rule(kata, 20, "/auth/*", "kata-auth-tg")
    result = run(sandbox, "elbv2.listener_rules", **ALB, rules=RULES)
    assert result.status is Status.FAILED
    assert "rule priority 5 (/*) comes before rule priority 10 (/api/*)" in result.message
    assert "rule priority 5 (/*) comes before rule priority 20 (/auth/*)" in result.message
    assert result.actual == ("priority 5 (/*) shadows priority 10 (/api/*); priority 5 (/*) "
                             "shadows priority 20 (/auth/*)")


@pytest.mark.parametrize(("broad", "narrow", "covers"), [
    ("/*", "/api/*", True), ("/api/*", "/api/v1/*", True), ("/api*", "/api/*", True),
    ("/api/*", "/auth/*", False), ("/api/*", "/api", False), ("/a?", "/ab", True),
    ("/ab", "/a?", False),
])
def test_pattern_covers(broad: str, narrow: str, covers: bool) -> None:
    assert pattern_covers(broad, narrow) is covers


def test_a_host_condition_keeps_a_broad_path_from_shadowing() -> None:
    broad = {"Priority": "1", "Conditions": [
        {"Field": "path-pattern", "Values": ["/*"]},
        {"Field": "host-header", "Values": ["admin.example.com"]}]}
    narrow = {"Priority": "2", "Conditions": [{"Field": "path-pattern", "Values": ["/api/*"]}]}
    assert shadowed_rules([broad, narrow]) == []
    assert shadowed_rules([narrow, dict(broad, Priority="0", Conditions=broad["Conditions"][:1])])


# --- listener_weights ------------------------------------------------------------------------

BLUE_GREEN = [{"target_group": "kata-web-tg", "weight": 90},
              {"target_group": "kata-web-green-tg", "weight": 10}]


def _blue_green(kata: Kata) -> Kata:
    kata.security_groups().load_balancer().target_group()
    kata.target_group("kata-web-green-tg")
    kata.listener()
    return kata


def test_weights_pass(sandbox: Target, kata: Kata) -> None:
    _blue_green(kata)
    _weights(kata, kata_web_tg=9, kata_web_green_tg=1)  # relative: the same as 90/10
    result = run(sandbox, "elbv2.listener_weights", **ALB, weights=BLUE_GREEN,
                 serving_healthy=False)
    assert result.status is Status.PASSED, result.message
    assert result.message == ("Listener :80 of kata-alb sends kata-web-tg 90%, "
                              "kata-web-green-tg 10%.")


def test_weights_fail_when_green_is_not_in_the_forward(sandbox: Target, kata: Kata) -> None:
    _blue_green(kata)
    result = run(sandbox, "elbv2.listener_weights", **ALB, weights=BLUE_GREEN)
    assert result.status is Status.FAILED
    assert "kata-web-green-tg is not in its forward action" in result.message


def test_weights_fail_on_other_weights(sandbox: Target, kata: Kata) -> None:
    _blue_green(kata)
    _weights(kata, kata_web_tg=100, kata_web_green_tg=0)
    result = run(sandbox, "elbv2.listener_weights", **ALB, weights=BLUE_GREEN)
    assert result.status is Status.FAILED
    assert result.actual == "kata-web-tg 100%, kata-web-green-tg 0%"
    assert result.expected == "kata-web-tg 90%, kata-web-green-tg 10%"


# --- targets_healthy -------------------------------------------------------------------------


def test_targets_healthy_passes_with_distinct_dynamic_ports(sandbox: Target, kata: Kata) -> None:
    kata.web()
    result = run(sandbox, "elbv2.targets_healthy", **TG, count=2)
    assert result.status is Status.PASSED, result.message


def test_targets_healthy_fails_without_targets(sandbox: Target, kata: Kata) -> None:
    kata.security_groups().load_balancer().target_group()
    kata.listener()
    result = run(sandbox, "elbv2.targets_healthy", **TG, count=2)
    assert result.status is Status.FAILED
    assert "has no registered targets" in result.message


def test_targets_healthy_fails_while_checks_are_in_progress(sandbox: Target, kata: Kata) -> None:
    kata.web(settle=15)
    result = run(sandbox, "elbv2.targets_healthy", **TG, count=2)
    assert result.status is Status.FAILED
    assert "2 of 2 targets are not healthy yet (initial)" in result.message


def test_targets_unhealthy_name_the_path_the_app_does_not_serve(sandbox: Target) -> None:
    """The container serves only HEALTH_PATH=/health; the target group checks /."""
    kata = Kata(sandbox).prerequisites(health_path="/health")
    kata.web(path="/", settle=40)
    result = run(sandbox, "elbv2.targets_healthy", **TG, count=2)
    assert result.status is Status.FAILED
    assert "answers the health check path / with Health checks failed with these codes: " \
           "[404]: the app does not serve /" in result.message


def test_targets_unhealthy_name_the_security_group_and_port(sandbox: Target, kata: Kata) -> None:
    kata.web(instance_range=None, settle=40)
    result = run(sandbox, "elbv2.targets_healthy", **TG, count=2)
    assert result.status is Status.FAILED
    assert "time out: the instance's security group does not admit the load balancer from " \
           "kata-alb-sg on port 3276" in result.message


def test_weights_pass_on_a_split_a_later_step_moves_on_to(sandbox: Target, kata: Kata) -> None:
    """The canary's check after the rollback or the cutover: the lab's later splits pass,
    saying so; a split that is neither still fails."""
    _blue_green(kata)
    later = [[{"target_group": "kata-web-tg", "weight": 0},
              {"target_group": "kata-web-green-tg", "weight": 100}]]
    _weights(kata, kata_web_tg=0, kata_web_green_tg=100)
    result = run(sandbox, "elbv2.listener_weights", **ALB, weights=BLUE_GREEN, later=later,
                 serving_healthy=False)
    assert result.status is Status.PASSED, result.message
    assert result.message == ("Listener :80 of kata-alb sends kata-web-tg 0%, kata-web-green-tg "
                              "100%: a later step of the lab moved it on from this step's "
                              "kata-web-tg 90%, kata-web-green-tg 10%.")
    _weights(kata, kata_web_tg=50, kata_web_green_tg=50)
    result = run(sandbox, "elbv2.listener_weights", **ALB, weights=BLUE_GREEN, later=later,
                 serving_healthy=False)
    assert result.status is Status.FAILED
    assert result.expected == "kata-web-tg 90%, kata-web-green-tg 10%"


def test_weights_fail_the_wrong_way_round(sandbox: Target, kata: Kata) -> None:
    _blue_green(kata)
    _weights(kata, kata_web_tg=10, kata_web_green_tg=90)
    result = run(sandbox, "elbv2.listener_weights", **ALB, weights=BLUE_GREEN,
                 serving_healthy=False)
    assert result.status is Status.FAILED
    assert "The shares are the wrong way round" in result.message


def test_weights_fail_explaining_relative_weights(sandbox: Target, kata: Kata) -> None:
    """Blue left at 100 and green given 10 as if it were a percentage: green gets 9%."""
    _blue_green(kata)
    _weights(kata, kata_web_tg=100, kata_web_green_tg=10)
    result = run(sandbox, "elbv2.listener_weights", **ALB, weights=BLUE_GREEN,
                 serving_healthy=False)
    assert result.status is Status.FAILED
    assert result.actual == "kata-web-tg 90.9091%, kata-web-green-tg 9.09091%"
    assert ("Weights are relative, not percentages: a group gets its weight divided by the sum "
            "of all weights, here 100 (kata-web-tg) + 10 (kata-web-green-tg) = 110."
            ) in result.message


def test_weights_fail_sending_traffic_to_a_group_without_healthy_targets(
        sandbox: Target, kata: Kata) -> None:
    kata.web()
    kata.target_group("kata-web-green-tg")
    _weights(kata, kata_web_tg=0, kata_web_green_tg=100)
    cutover = [{"target_group": "kata-web-tg", "weight": 0},
               {"target_group": "kata-web-green-tg", "weight": 100}]
    result = run(sandbox, "elbv2.listener_weights", **ALB, weights=cutover)
    assert result.status is Status.FAILED
    assert result.message.startswith("Listener :80 of kata-alb sends 100% to kata-web-green-tg, "
                                     "which has no healthy target: those requests get HTTP 503.")
    _weights(kata, kata_web_tg=100, kata_web_green_tg=0)
    rollback = [{"target_group": "kata-web-tg", "weight": 100},
                {"target_group": "kata-web-green-tg", "weight": 0}]
    result = run(sandbox, "elbv2.listener_weights", **ALB, weights=rollback)
    assert result.status is Status.PASSED, result.message


# --- discovery -------------------------------------------------------------------------------


def test_discovery_takes_no_group_the_lab_names_for_something_else(sandbox: Target,
                                                                   kata: Kata) -> None:
    """The default action forwards to green (the lab's name) and a generated-name group: only
    with green excluded is the generated one unambiguously the lab's blue group."""
    kata.security_groups().load_balancer()
    kata.ids["kata-web-tg"] = kata.target_group("stack-WebTG-XYZ")
    kata.target_group("kata-web-green-tg")
    kata.listener()
    _weights(kata, kata_web_tg=100, kata_web_green_tg=0)
    result = run(sandbox, "elbv2.target_group", **TG)
    assert result.status is Status.FAILED
    assert result.message == "Target group kata-web-tg does not exist."
    result = run(sandbox, "elbv2.target_group", **TG, exclude=["kata-web-green-tg"])
    assert result.status is Status.PASSED, result.message
    assert result.message.startswith(
        "Target group stack-WebTG-XYZ (found by discovery: there is no target group "
        "kata-web-tg; stack-WebTG-XYZ is the one group the default action of listener :80 of "
        "kata-alb forwards to) takes")


def test_discovery_takes_no_group_another_route_forwards_to(sandbox: Target,
                                                            kata: Kata) -> None:
    """The /api/* rule forwards to the group the default action uses: it is the web group,
    not the api one, so the api group is not discovered."""
    kata.security_groups().load_balancer().target_group()
    kata.listener()
    _rule(kata, 10, "/api/*", "kata-web-tg")
    result = run(sandbox, "elbv2.target_group", target_group="kata-api-tg",
                 load_balancer="kata-alb", rule_path="/api/*")
    assert result.status is Status.FAILED
    assert result.message == "Target group kata-api-tg does not exist."


# --- health check port, counts, rule patterns ------------------------------------------------


def test_target_group_fails_with_a_fixed_health_check_port(sandbox: Target, kata: Kata) -> None:
    kata.elbv2.modify_target_group(TargetGroupArn=kata.target_group(), HealthCheckPort="80")
    result = run(sandbox, "elbv2.target_group", **TG)
    assert result.status is Status.FAILED
    assert ("its health checks go to port 80, not each target's own port (traffic-port)"
            in result.message)
    assert result.actual == "health check port 80"


def test_targets_healthy_at_least_accepts_a_later_scale_out(sandbox: Target, kata: Kata) -> None:
    kata.web()
    kata.ecs.update_service(cluster="kata-cluster", service="web", desiredCount=3)
    kata.advance(60)
    result = run(sandbox, "elbv2.targets_healthy", **TG, count=2, at_least=True)
    assert result.status is Status.PASSED, result.message
    assert "has 3 healthy target(s)" in result.message
    result = run(sandbox, "elbv2.targets_healthy", **TG, count=2)
    assert result.status is Status.FAILED
    result = run(sandbox, "elbv2.targets_healthy", **TG, count=4, at_least=True)
    assert result.status is Status.FAILED
    assert result.message == "Target group kata-web-tg has 3 healthy target(s), not at least 4."


def test_rules_name_the_pattern_without_its_wildcard(sandbox: Target, kata: Kata) -> None:
    _routed(kata)
    _rule(kata, 10, "/api", "kata-api-tg")
    _rule(kata, 20, "/auth/*", "kata-auth-tg")
    result = run(sandbox, "elbv2.listener_rules", **ALB, rules=RULES)
    assert result.status is Status.FAILED
    assert result.message == ("Listener :80 of kata-alb: no rule for /api/* (the rule that "
                              "forwards to kata-api-tg, priority 10, matches /api instead).")


def test_targets_still_initial_are_named_when_the_security_group_blocks_them(
        sandbox: Target, kata: Kata) -> None:
    """While targets are still initial (or ECS has just replaced the unhealthy ones), the
    instances' group already shows they will time out: the check says so, not "wait"."""
    kata.web(instance_range=None, settle=15)
    result = run(sandbox, "elbv2.targets_healthy", **TG, count=2)
    assert result.status is Status.FAILED
    assert result.message.startswith("Target group kata-web-tg: 2 of 2 targets cannot turn "
                                     "healthy: health checks of i-")
    assert "time out: the instance's security group does not admit the load balancer from " \
           "kata-alb-sg on port 3276" in result.message


def test_only_draining_targets_are_explained_by_the_security_group(sandbox: Target,
                                                                   kata: Kata) -> None:
    """Between ECS stopping tasks that failed their health checks and registering their
    replacements, only draining targets are left: the check still names the cause."""
    kata.web()
    kata.ec2.revoke_security_group_ingress(GroupId=kata.ids["instances"], IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 32768, "ToPort": 65535,
        "UserIdGroupPairs": [{"GroupId": kata.ids["alb_sg"]}]}])
    kata.ecs.update_service(cluster="kata-cluster", service="web", desiredCount=0)
    kata.advance(5)
    result = run(sandbox, "elbv2.targets_healthy", **TG, count=2)
    assert result.status is Status.FAILED
    assert result.message.startswith("Target group kata-web-tg has only draining targets: ECS "
                                     "stops tasks whose health checks fail")
    assert "does not admit the load balancer from kata-alb-sg" in result.message
