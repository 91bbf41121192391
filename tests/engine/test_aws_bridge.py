"""The shell's ``aws`` calls in batch runs come back to this process's awscli (aws_bridge)."""

from __future__ import annotations

from cloudkata.runner import ShellSession


def test_substitutions_capture_only_standard_output_and_keep_exit_codes(sandbox,
                                                                        tmp_path) -> None:
    shell = ShellSession(tmp_path, sandbox.env(), in_process_aws=True)
    line = ("ACCOUNT=$(aws sts get-caller-identity --query Account --output text); "
            "echo account=$ACCOUNT; MISSING=$(aws iam get-role --role-name nope); "
            "echo rc=$? missing=[$MISSING]")
    fast = shell.run(line)
    assert fast.ok
    assert "account=123456789012" in fast.output
    assert "rc=255 missing=[]" in fast.output  # the error went to stderr, not into $MISSING
    assert "NoSuchEntity" in fast.output
    assert "account=123456789012" in shell.run("echo account=$ACCOUNT").output  # carried


def test_the_bridge_gives_the_same_answers_as_the_aws_program(sandbox, tmp_path) -> None:
    line = "aws ec2 describe-vpcs --filters Name=is-default,Values=true " \
           "--query 'Vpcs[0].CidrBlock' --output text | tr . _"
    fast = ShellSession(tmp_path / "fast", sandbox.env(), in_process_aws=True).run(line)
    (tmp_path / "slow").mkdir()
    slow = ShellSession(tmp_path / "slow", sandbox.env()).run(line)
    assert fast.ok and slow.ok and fast.output == slow.output == "172_31_0_0/16\n"


def test_files_are_read_from_the_shells_directory(sandbox, tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "trust.json").write_text(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": '
        '{"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')
    shell = ShellSession(tmp_path, sandbox.env(), in_process_aws=True)
    shell.run("cd sub")
    made = shell.run("NAME=bridged; aws iam create-role --role-name $NAME "
                     "--assume-role-policy-document file://trust.json --query Role.RoleName")
    assert made.ok and '"bridged"' in made.output


def test_one_driver_runs_ec2_commands_with_and_without_boolean_pairs(sandbox,
                                                                      tmp_path) -> None:
    """awscli assumes one command per process: its --x/--no-x check leaked into later
    EC2 commands (``create-subnet`` after ``modify-vpc-attribute``) and failed them."""
    shell = ShellSession(tmp_path, sandbox.env(), in_process_aws=True)
    made = shell.run("VPC=$(aws ec2 create-vpc --cidr-block 10.77.0.0/16 "
                     "--query Vpc.VpcId --output text) && echo $VPC")
    assert made.ok, made.output
    assert shell.run("aws ec2 modify-vpc-attribute --vpc-id $VPC "
                     "--enable-dns-hostnames '{\"Value\":true}'").ok
    subnet = shell.run("aws ec2 create-subnet --vpc-id $VPC --cidr-block 10.77.1.0/24")
    assert subnet.ok, subnet.output
    both = shell.run("aws ec2 modify-vpc-attribute --vpc-id $VPC "
                     "--enable-dns-support '{\"Value\":true}' --no-enable-dns-support")
    assert both.exit_code != 0 and "Cannot specify both" in both.output
