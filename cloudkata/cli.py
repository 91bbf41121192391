"""The headless face: every TUI action as a command, for learners, authors and instructors.

Exit codes (an API, see cloudkata.exit_codes): 0 all passed / done, 1 some check failed or
nothing was checked, 2 usage or content error, 3 target unreachable or unusable.

This module is the root command (which opens the app when given no subcommand) and the console
entry point; the subcommands are in ``cli_commands``, what both use in ``cli_common``.
"""

from __future__ import annotations

import os
import sys

import click

from .cli_commands import COMMANDS
from .cli_common import (
    catalogue_of,
    handle_errors,
    make_target,
    parse_vars,
    target_options,
    var_option,
)
from .exit_codes import ExitCode

EPILOG = """\b
Exit codes: 0 all passed, 1 some check failed (or every check was skipped),
2 usage or content error, 3 target unreachable (sandbox down, no credentials, unknown profile).
"""


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


for _command in COMMANDS:
    main.add_command(_command)


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
