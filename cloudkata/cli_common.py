"""What the commands of ``cloudkata`` share: errors and exit codes, target options, variables.

``cli`` (the root command, which also opens the app) and ``cli_commands`` (the subcommands)
both import this module and nothing imports them back, so the command line has no import
cycle: cli -> cli_commands -> cli_common.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import click

from cloudkata.checks.result import Result, Status
from cloudkata.labs import Catalogue, LabFileError, UnknownLabError

from .exit_codes import ExitCode
from .sandbox import manager
from .targets import TARGET_KINDS, Target, TargetError, resolve_target


class Fail(click.ClickException):
    """An error with its exit code, printed as one line without a traceback."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = int(code)  # type: ignore[misc]  # click's is per class; ours per error

    def show(self, file: Any = None) -> None:
        click.secho(f"cloudkata: {self.message}", err=True, fg="red")


def say(message: str) -> None:
    """A note on stderr, dimmed (stdout is for results)."""
    click.secho(message, err=True, dim=True)


def handle_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the engine's known errors into one readable line and the right exit code."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (LabFileError, UnknownLabError) as exc:
            raise Fail(str(exc), ExitCode.USAGE) from None
        except KeyError as exc:  # unknown step and the like
            raise Fail(str(exc).strip("'\""), ExitCode.USAGE) from None
        except manager.SandboxRequestError as exc:
            raise Fail(str(exc), ExitCode.USAGE) from None
        except (TargetError, manager.SandboxError) as exc:
            raise Fail(str(exc), ExitCode.UNREACHABLE) from None

    return wrapper


def target_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--target", "target_kind", type=click.Choice(TARGET_KINDS),
                     default="sandbox", envvar="CLOUDKATA_TARGET", show_default=True,
                     help="Where commands run and checks read."),
        click.option("--profile", envvar="CLOUDKATA_PROFILE",
                     help="AWS profile (target aws)."),
        click.option("--region", help="Region (default: the profile's, else us-east-1)."),
        click.option("--endpoint-url", help="Emulator endpoint (default: the sandbox's, or "
                     "LocalStack's by localstack-client conventions)."),
        click.option("--port", type=int, default=manager.DEFAULT_PORT, show_default=True,
                     envvar="CLOUDKATA_SANDBOX_PORT", help="Sandbox port on 127.0.0.1."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def make_target(kind: str, profile: str | None, region: str | None,
                endpoint_url: str | None, port: int, *, identify: bool = True) -> Target:
    target = resolve_target(kind, profile=profile, region=region, endpoint_url=endpoint_url,
                            port=port, announce=say)
    if identify:
        target = target.identify()
        if kind == "aws":
            click.secho(f"Target: real AWS, account {target.account_id}, region "
                        f"{target.region}", err=True, fg="yellow", bold=True)
    return target


def parse_vars(values: tuple[str, ...]) -> dict[str, str]:
    overrides = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name:
            raise Fail(f"--var takes NAME=VALUE, got {value!r}.", ExitCode.USAGE)
        overrides[name] = setting
    return overrides


var_option = click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
                          help="Override a lab variable (repeatable), e.g. --var cluster=mine.")


def catalogue_of(ctx: click.Context) -> Catalogue:
    return Catalogue.default(ctx.obj.get("labs_dir") if ctx.obj else None)


def exit_code_for(statuses: list[Status]) -> ExitCode:
    """0 only when something was judged and all of it passed.

    A run whose checks were all skipped (say, every service the lab uses is missing from this
    LocalStack edition) proved nothing; exiting 0 would let a grading script record a pass.
    """
    if Status.ERROR in statuses:
        return ExitCode.UNREACHABLE
    if Status.FAILED in statuses:
        return ExitCode.FAILED
    if Status.PASSED not in statuses:
        return ExitCode.FAILED  # nothing was checked: see nothing_checked()
    return ExitCode.OK


def nothing_checked(results: list[Result]) -> str | None:
    """Why no check judged anything (the words after "Nothing was checked: "), or None.

    Only for runs without errors or failures, which speak for themselves.
    """
    statuses = {result.status for result in results}
    if statuses & {Status.PASSED, Status.FAILED, Status.ERROR}:
        return None
    if not results:
        return "there were no checks to run."
    reasons = list(dict.fromkeys(result.message.rstrip(".") for result in results))
    shown = "; ".join(reasons[:3]) + ("; ..." if len(reasons) > 3 else "")
    return f"every check was skipped on this target ({shown})."


def dump_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))
