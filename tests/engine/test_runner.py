"""ShellSession: one line at a time, like a terminal: variables and cd carry over."""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import pytest

from cloudkata.runner import ShellSession, is_aws_command
from cloudkata.targets import Target


@pytest.fixture
def shell(tmp_path: Path) -> ShellSession:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    return ShellSession(workspace, dict(os.environ))


def test_a_variable_set_on_one_line_is_visible_on_the_next(shell: ShellSession) -> None:
    assert shell.run("GREETING='hello world'").ok
    assert shell.run('echo "$GREETING!"').output == "hello world!\n"


def test_exported_and_array_variables_carry(shell: ShellSession) -> None:
    shell.run("export REGION=eu-west-1; NAMES=(a b c)")
    result = shell.run('echo "$REGION ${NAMES[1]}"; bash -c \'echo "child $REGION"\'')
    assert result.output == "eu-west-1 b\nchild eu-west-1\n"


def test_a_variable_with_quotes_and_newlines_survives(shell: ShellSession) -> None:
    shell.run("""DOC=$(printf '{"a": "it\\x27s"}\\nline 2')""")
    assert shell.run('printf "%s" "$DOC"').output == '{"a": "it\'s"}\nline 2'


def test_cd_carries_and_starts_in_the_workspace(shell: ShellSession) -> None:
    assert shell.run("pwd").output.strip() == str(shell.workspace)
    shell.run("mkdir -p sub/dir && cd sub/dir")
    assert shell.run("pwd").output.strip() == str(shell.workspace / "sub" / "dir")
    assert shell.run("cd ..").ok
    assert shell.run("pwd").output.strip() == str(shell.workspace / "sub")


def test_pipes_and_command_substitution(shell: ShellSession) -> None:
    assert shell.run("printf 'b\\na\\nc\\n' | sort | head -2").output == "a\nb\n"
    shell.run("COUNT=$(printf 'x\\ny\\n' | wc -l | tr -d ' ')")
    assert shell.run("echo $((COUNT * 10))").output == "20\n"


def test_exit_codes(shell: ShellSession) -> None:
    assert shell.run("true").exit_code == 0
    failed = shell.run("echo before; exit 3")
    assert failed.exit_code == 3
    assert not failed.ok
    assert failed.output == "before\n"
    assert shell.run("false").exit_code == 1
    missing = shell.run("no-such-command-cloudkata")
    assert missing.exit_code == 127
    assert "not found" in missing.output


def test_variables_set_before_a_failure_still_carry(shell: ShellSession) -> None:
    assert shell.run("X=1; false").exit_code == 1
    assert shell.run("echo $X").output == "1\n"


def test_stderr_is_in_the_output(shell: ShellSession) -> None:
    assert shell.run("echo oops >&2").output == "oops\n"


def test_output_streams_line_by_line(shell: ShellSession) -> None:
    seen: list[str] = []
    result = shell.run("for i in 1 2 3; do echo line $i; done", on_output=seen.append)
    assert seen == ["line 1", "line 2", "line 3"]
    assert result.output == "line 1\nline 2\nline 3\n"
    assert result.command == "for i in 1 2 3; do echo line $i; done"
    assert result.seconds >= 0


def test_a_hung_command_is_stopped(shell: ShellSession) -> None:
    result = shell.run("echo start; sleep 0.3; echo tick; sleep 30", timeout=0.2)
    assert "stopped after" in result.output
    assert result.seconds < 10
    assert not result.ok


def test_a_silent_hung_command_is_stopped(shell: ShellSession) -> None:
    """The timeout holds even when the command prints nothing at all."""
    result = shell.run("sleep 30", timeout=0.2)
    assert result.seconds < 5
    assert "stopped after" in result.output
    assert not result.ok


def test_a_background_job_does_not_hold_the_console(shell: ShellSession) -> None:
    """Like a terminal: ``cmd &`` returns at once, even though the job keeps the pipe open."""
    result = shell.run("echo a; (sleep 2; echo late) & echo b", timeout=10)
    assert result.output == "a\nb\n"
    assert result.seconds < 1.5
    assert result.ok


def test_forget_drops_variables_and_directory(shell: ShellSession) -> None:
    shell.run("X=1; mkdir -p d && cd d")
    shell.forget()
    assert shell.run('echo "[$X] $(pwd)"').output == f"[] {shell.workspace}\n"


def test_the_shells_own_variables_are_not_carried(shell: ShellSession) -> None:
    shell.run("cd /")
    result = shell.run('echo "$OLDPWD|$PWD"')
    assert result.output.strip().endswith("|/")


def test_aws_reads_files_from_the_workspace(sandbox: Target, tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    (workspace / "trust.json").write_text(json.dumps(trust))
    shell = ShellSession(workspace, sandbox.env())
    result = shell.run("aws iam create-role --role-name r "
                       "--assume-role-policy-document file://trust.json")
    assert result.ok, result.output
    arn = shell.run("ARN=$(aws iam get-role --role-name r --query Role.Arn --output text)")
    assert arn.ok, arn.output
    assert shell.run('echo "$ARN"').output == "arn:aws:iam::123456789012:role/r\n"
    iam = boto3.client("iam", endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    document = iam.get_role(RoleName="r")["Role"]["AssumeRolePolicyDocument"]
    assert document["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}


@pytest.mark.parametrize(
    ("command", "expected"),
    [("aws iam list-roles", True), ("/usr/bin/aws s3 ls", True), ("echo aws", False),
     ("", False), ("aws 'unterminated", False)],
)
def test_is_aws_command(command: str, expected: bool) -> None:
    assert is_aws_command(command) is expected


def test_cancel_stops_the_running_command_and_its_children(tmp_path) -> None:
    import os
    import threading
    import time

    from cloudkata.runner import ShellSession

    shell = ShellSession(tmp_path, dict(os.environ))
    assert shell.cancel() is False  # nothing running
    results = []
    worker = threading.Thread(target=lambda: results.append(shell.run("sleep 30 | cat")))
    began = time.monotonic()
    worker.start()
    while shell._running is None and time.monotonic() - began < 5:
        time.sleep(0.01)
    assert shell.cancel() is True
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert results[0].exit_code != 0 and "(stopped)" in results[0].output
    assert time.monotonic() - began < 10


@pytest.mark.parametrize(("line", "argv"), [
    ("aws iam list-roles", ["iam", "list-roles"]),
    ("aws iam put-role-policy --policy-document '{\"a\": 1}'",
     ["iam", "put-role-policy", "--policy-document", '{"a": 1}']),
    ("aws iam list-roles | jq .", None),
    ("aws iam list-roles > out.json", None),
    ("ARN=$(aws iam get-role --role-name r)", None),
    ("aws iam get-role --role-name $ROLE", None),
    ("echo aws", None),
    ("aws iam list-roles; aws iam list-users", None),
])
def test_only_plain_aws_lines_run_in_process(line: str, argv: list[str] | None) -> None:
    from cloudkata.runner import plain_aws_argv

    assert plain_aws_argv(line) == argv


def test_in_process_aws_behaves_like_the_subprocess(sandbox, tmp_path) -> None:
    from cloudkata.runner import ShellSession

    (tmp_path / "trust.json").write_text(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": '
        '{"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')
    fast = ShellSession(tmp_path, sandbox.env(), in_process_aws=True)
    made = fast.run("aws iam create-role --role-name inproc "
                    "--assume-role-policy-document file://trust.json")
    assert made.ok and '"RoleName": "inproc"' in made.output
    again = fast.run("aws iam create-role --role-name inproc "
                     "--assume-role-policy-document file://trust.json")
    assert again.exit_code != 0 and "EntityAlreadyExists" in again.output
    slow = ShellSession(tmp_path, sandbox.env())
    assert '"RoleName": "inproc"' in slow.run("aws iam get-role --role-name inproc").output
