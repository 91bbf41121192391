"""The headless CLI as a learner and an instructor use it; exit codes are an API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from cloudkata.checks.result import Result, Status
from cloudkata.cli import main
from cloudkata.cli_common import exit_code_for, nothing_checked
from cloudkata.exit_codes import ExitCode
from cloudkata.targets import Target


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_check_fails_on_an_empty_sandbox_and_passes_after_solve(
    sandbox: Target, labs_home: Path
) -> None:
    at = ("--endpoint-url", sandbox.endpoint_url)
    code, out = cli("check", "ecs-iam-roles", *at)
    assert code == ExitCode.FAILED
    assert "Role ecsInstanceRole does not exist." in out
    assert "expected: a role named ecsInstanceRole" in out

    code, out = cli("solve", "ecs-iam-roles", *at)
    assert code == ExitCode.OK, out
    code, out = cli("check", "ecs-iam-roles", *at, "--json")
    assert code == ExitCode.OK
    report = json.loads(out)
    assert all(step["passed"] for step in report["steps"])
    assert [s["step"] for s in report["steps"]] == [
        "instance-role", "execution-role", "task-role", "service-linked-role"]


def test_one_missing_role_is_one_failure_and_the_rest_say_what_they_need(
    sandbox: Target, labs_home: Path
) -> None:
    """One cause, one message: no failure sentence repeats within a step."""
    at = ("--endpoint-url", sandbox.endpoint_url)
    code, out = cli("check", "ecs-iam-roles", *at, "--json")
    assert code == ExitCode.FAILED
    for step in json.loads(out)["steps"]:
        failures = [c["message"] for c in step["checks"] if c["status"] == "failed"]
        assert len(failures) == len(set(failures)), step
    execution = json.loads(out)["steps"][1]["checks"]
    assert [c["status"] for c in execution] == ["failed", "blocked", "blocked"]
    assert execution[1]["blocked_by"] == "iam.role_trusts_service"
    assert execution[1]["message"] == "Not checked: needs role ecsTaskExecutionRole."
    code, out = cli("check", "ecs-iam-roles", "--step", "execution-role", *at)
    assert out.count("Role ecsTaskExecutionRole does not exist.") == 1
    assert "· Not checked: needs role ecsTaskExecutionRole." in out


def test_check_one_step_and_progress_shows_in_list(sandbox: Target, labs_home: Path) -> None:
    at = ("--endpoint-url", sandbox.endpoint_url)
    assert cli("solve", "ecs-iam-roles", "--step", "instance-role", *at)[0] == ExitCode.OK
    code, out = cli("check", "ecs-iam-roles", "--step", "instance-role", *at)
    assert code == ExitCode.OK
    assert "1/1 steps passed" in out
    code, out = cli("list")
    assert "1/4 steps" in out


def test_hints_are_progressive_and_remembered(labs_home: Path) -> None:
    _, first = cli("hint", "ecs-iam-roles", "--step", "task-role")
    assert "Hint 1/4" in first and "Hint 2/4" not in first
    _, second = cli("hint", "ecs-iam-roles", "--step", "task-role")
    assert "Hint 2/4" in second
    _, everything = cli("hint", "ecs-iam-roles", "--step", "task-role", "--all")
    assert "Hint 4/4" in everything and "kata-app-task-role" in everything


def test_show_substitutes_variables_and_overrides(labs_home: Path) -> None:
    code, out = cli("show", "ecs-iam-roles", "--var", "instance_role=myHostRole")
    assert code == ExitCode.OK
    assert "aws iam create-role --role-name myHostRole" in out


def test_env_prints_exports_for_the_shell(sandbox: Target) -> None:
    code, out = cli("env", "--endpoint-url", sandbox.endpoint_url)
    assert code == ExitCode.OK
    assert f"export AWS_ENDPOINT_URL={sandbox.endpoint_url}" in out
    assert "export AWS_REGION=us-east-1" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("check", "no-such-lab"), "There is no lab 'no-such-lab'"),
        (("hint", "ecs-iam-roles", "--step", "nope"), "has no step 'nope'"),
        (("show", "ecs-iam-roles", "--var", "novalue"), "--var takes NAME=VALUE"),
    ],
)
def test_usage_errors_exit_2_with_one_sentence(args: tuple[str, ...], message: str,
                                               labs_home: Path) -> None:
    code, out = cli(*args)
    assert code == ExitCode.USAGE
    assert message in out
    assert "Traceback" not in out


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_endpoint_exits_3_in_one_line(labs_home: Path) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    result = subprocess.run(
        [sys.executable, "-m", "cloudkata", "check", "ecs-iam-roles", "--endpoint-url", endpoint],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == ExitCode.UNREACHABLE
    assert "Cannot reach" in result.stderr and endpoint in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_unknown_profile_exits_3(labs_home: Path, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "config"))
    code, out = cli("check", "ecs-iam-roles", "--target", "aws", "--profile", "nobody")
    assert code == ExitCode.UNREACHABLE
    assert "nobody" in out and "could not be found" in out


def test_malformed_lab_file_names_file_line_and_field(tmp_path: Path) -> None:
    labs = tmp_path / "labs"
    labs.mkdir()
    (labs / "broken.yaml").write_text(
        "id: broken\ntitle: Broken\nsummary: s\nminutes: 5\nsteps:\n"
        "  - id: one\n    title: One\n    text: x.md\n    chekcs: []\n"
        "    hints: [h]\n    solution: [aws sts get-caller-identity]\n")
    code, out = cli("--labs-dir", str(labs), "show", "broken")
    assert code == ExitCode.USAGE
    assert f"{labs / 'broken.yaml'}:9: steps[0].chekcs: unknown field" in out


def test_help_teaches_exit_codes_and_a_session() -> None:
    code, out = cli("--help")
    assert code == 0
    assert "Exit codes" in out and 'eval "$(cloudkata env)"' in out


def test_quiz_explains_and_remembers_answers(labs_home: Path) -> None:
    result = CliRunner().invoke(main, ["quiz", "ecs-iam-roles"], input="2\n2\n3\n3\n2\n")
    assert result.exit_code == 0, result.output
    assert "Not quite: 1) The task execution role." in result.output
    assert "4/5 right." in result.output
    saved = json.loads((labs_home / "progress.json").read_text())
    answers = saved["labs"]["ecs-iam-roles"]["quiz"]
    assert answers["agent-role"]["correct"] is True
    assert answers["pull-image"] == {**answers["pull-image"], "answer": 1, "correct": False}


def test_a_lab_naming_an_unknown_check_is_a_content_error(tmp_path: Path,
                                                          sandbox: Target) -> None:
    labs = tmp_path / "labs"
    labs.mkdir()
    (labs / "typo.yaml").write_text(
        "id: typo\ntitle: Typo\nsummary: s\nminutes: 5\nsteps:\n"
        "  - id: one\n    title: One\n    text: x.md\n"
        "    checks: [{use: iam.role_exits, with: {role: r}}]\n"
        "    hints: [h]\n    solution: [aws sts get-caller-identity]\n")
    code, out = cli("--labs-dir", str(labs), "check", "typo", "--endpoint-url",
                    sandbox.endpoint_url)
    assert code == ExitCode.USAGE
    assert "step one, check 1 (iam.role_exits): No check is registered as 'iam.role_exits'" in out


def test_solve_fast_forwards_prerequisites_on_an_empty_sandbox(sandbox: Target,
                                                               labs_home: Path) -> None:
    """`solve LAB --prerequisites` reaches the lab's start: its first step then checks out."""
    at = ("--endpoint-url", sandbox.endpoint_url)
    # two prerequisite labs, one through the other: the chain and the order are what matter
    # (every lab's full chain is fast-forwarded by the dev check test of its family)
    code, out = cli("solve", "task-definitions", "--prerequisites", "--step", "log-group", *at)
    assert code == ExitCode.OK, out[-3000:]
    for lab in ("ecs-iam-roles", "ecs-cluster"):
        assert f"Fast-forwarding {lab}" in out
    assert out.index("Fast-forwarding ecs-iam-roles") < out.index("Fast-forwarding ecs-cluster")
    code, out = cli("check", "ecs-cluster", *at)  # its end state
    assert code == ExitCode.OK, out[-3000:]
    code, out = cli("check", "task-definitions", "--step", "log-group", *at)
    assert code == ExitCode.OK, out[-3000:]


# --- a run that checked nothing is not a pass -------------------------------------------------

_IDENTITY = (b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
             b"<GetCallerIdentityResult><Arn>arn:aws:iam::000000000000:root</Arn>"
             b"<UserId>000000000000</UserId><Account>000000000000</Account>"
             b"</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId>"
             b"</ResponseMetadata></GetCallerIdentityResponse>")
_NOT_IN_EDITION = (b"<ErrorResponse><Error><Code>InternalFailure</Code><Message>API for service "
                   b"'iam' not yet implemented or pro feature - not included in your license "
                   b"plan</Message></Error><RequestId>1</RequestId></ErrorResponse>")


@pytest.fixture
def edition_without_iam() -> Iterator[str]:
    """A LocalStack stand-in that knows who you are and answers every other call 501."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            identity = b"Action=GetCallerIdentity" in body
            self.send_response(200 if identity else 501)
            self.send_header("Content-Type", "text/xml")
            payload = _IDENTITY if identity else _NOT_IN_EDITION
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_lab_whose_checks_were_all_skipped_exits_1_and_says_why(
    edition_without_iam: str, labs_home: Path
) -> None:
    args = ["check", "ecs-iam-roles", "--target", "localstack",
            "--endpoint-url", edition_without_iam]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == ExitCode.FAILED, result.output
    assert "Nothing was checked: every check was skipped on this target (IAM is not " \
           "available in this LocalStack edition" in result.output
    as_json = CliRunner().invoke(main, [*args, "--json"])
    assert as_json.exit_code == ExitCode.FAILED
    report = json.loads(as_json.stdout)  # the sentence went to stderr; stdout stays JSON
    assert {c["status"] for s in report["steps"] for c in s["checks"]} == {"skipped"}
    assert "Nothing was checked" in as_json.stderr


@pytest.mark.parametrize(
    ("statuses", "code"),
    [([Status.PASSED, Status.SKIPPED], ExitCode.OK),
     ([Status.SKIPPED, Status.SKIPPED], ExitCode.FAILED),
     ([], ExitCode.FAILED),
     ([Status.SKIPPED, Status.FAILED], ExitCode.FAILED),
     ([Status.SKIPPED, Status.ERROR], ExitCode.UNREACHABLE)],
)
def test_exit_code_needs_something_judged(statuses: list[Status], code: ExitCode) -> None:
    assert exit_code_for(statuses) is code
    results = [Result(status, f"{status.value} here.") for status in statuses]
    said = nothing_checked(results)
    assert (said is not None) == (code is ExitCode.FAILED and Status.FAILED not in statuses)


def test_every_subcommand_is_on_the_root_command() -> None:
    """cli_commands lists its commands (it does not import cli, which adds them): none left out."""
    import click

    from cloudkata import cli_commands

    defined = [value for value in vars(cli_commands).values() if isinstance(value, click.Command)]
    nested = {id(command) for group in defined if isinstance(group, click.Group)
              for command in group.commands.values()}
    assert sorted(c.name or "" for c in defined if id(c) not in nested) == sorted(main.commands)
