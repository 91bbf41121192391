"""The headless face: every TUI action as a command, for learners, authors and instructors.

Exit codes (an API, see cloudkata.exit_codes): 0 all passed / done, 1 some check failed or
nothing was checked, 2 usage or content error, 3 target unreachable or unusable.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from cloudkata.checks.result import Result, Status
from cloudkata.labs import Catalogue, LabFileError, UnknownLabError

from .exit_codes import ExitCode
from .sandbox import manager
from .targets import TARGET_KINDS, Target, TargetError, resolve_target

EPILOG = """\b
Exit codes: 0 all passed, 1 some check failed (or every check was skipped),
2 usage or content error, 3 target unreachable (sandbox down, no credentials, unknown profile).
"""


class Fail(click.ClickException):
    """An error with its exit code, printed as one line without a traceback."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = int(code)

    def show(self, file: Any = None) -> None:
        click.secho(f"cloudkata: {self.message}", err=True, fg="red")


def _say(message: str) -> None:
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
                            port=port, announce=_say)
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


@click.group(invoke_without_command=True, epilog=EPILOG,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--labs-dir", envvar="CLOUDKATA_LABS_DIR", type=click.Path(file_okay=False),
              help="Read labs from this folder instead of the installed catalogue "
                   "(lab authors; content/ is its sibling).")
@target_options
@var_option
@click.version_option(package_name="cloudkata")
@click.pass_context
@handle_errors
def main(ctx: click.Context, labs_dir: str | None, target_kind: str, profile: str | None,
         region: str | None, endpoint_url: str | None, port: int,
         variables: tuple[str, ...]) -> None:
    """Hands-on AWS container labs, checked against live state.

    Run without a command to open the app on the embedded sandbox. Typical session:

    \b
      cloudkata list                      the labs
      cloudkata show ecs-iam-roles        steps, commands and variables
      eval "$(cloudkata env)"             point your shell's `aws` at the sandbox
      cloudkata check ecs-iam-roles       what is right and what is missing
      cloudkata hint ecs-iam-roles --step instance-role
      cloudkata solve ecs-iam-roles --step instance-role
    """
    ctx.ensure_object(dict)
    ctx.obj["labs_dir"] = labs_dir
    if ctx.invoked_subcommand is not None:
        return
    catalogue = catalogue_of(ctx)
    catalogue.lab_files()
    target = make_target(target_kind, profile, region, endpoint_url, port)
    from cloudkata.tui.app import CloudkataApp  # the only place the CLI touches Textual

    from .progress import ProgressStore

    CloudkataApp(catalogue, target, ProgressStore.open(), parse_vars(variables)).run()



def run() -> None:
    """Console entry point; never shows a traceback unless CLOUDKATA_DEBUG is set."""
    try:
        main(standalone_mode=True)
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CLOUDKATA_DEBUG"):
            raise
        click.secho(f"cloudkata: unexpected error: {type(exc).__name__}: {exc} "
                    "(set CLOUDKATA_DEBUG=1 for details)", err=True, fg="red")
        sys.exit(int(ExitCode.USAGE))


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


from . import cli_commands  # noqa: E402,F401  (registers the subcommands)
