"""The subcommands of ``cloudkata``; each is a thin call into the engine (``cli`` adds them)."""

from __future__ import annotations

import shlex
import shutil
import time
from typing import Any

import click

from cloudkata.checks.result import Result, Status
from cloudkata.labs import Lab, Step, resolve

from . import locations
from .cli_common import (
    Fail,
    catalogue_of,
    dump_json,
    exit_code_for,
    handle_errors,
    make_target,
    nothing_checked,
    parse_vars,
    say,
    target_options,
    var_option,
)
from .engine import LabSession, StepReport, builtin_variables, reference_problems
from .exit_codes import ExitCode
from .progress import ProgressStore
from .sandbox import manager

step_option = click.option("--step", "step_id", metavar="STEP",
                           help="One step's id (see `cloudkata show LAB`).")


def _session(ctx: click.Context, lab_id: str, variables: tuple[str, ...], target_args: dict,
             *, progress: bool = True, in_process_aws: bool = False) -> LabSession:
    catalogue = catalogue_of(ctx)
    lab = catalogue.load(lab_id)
    target = make_target(**target_args)
    problems = reference_problems(resolve(lab, lab.variables))
    if problems:
        raise Fail(f"Lab {lab.id} has content errors:\n  " + "\n  ".join(problems),
                   ExitCode.USAGE)
    store = ProgressStore.open() if progress else None
    if store and store.warning:
        say(store.warning)
    return LabSession(lab, target, catalogue, parse_vars(variables), store,
                      in_process_aws=in_process_aws)


def _steps(session: LabSession, step_id: str | None) -> list[Step]:
    if step_id is None:
        return list(session.lab.steps)
    return [_steps_of(session.lab, step_id)]


def _targs(target_kind, profile, region, endpoint_url, port) -> dict:
    return {"kind": target_kind, "profile": profile, "region": region,
            "endpoint_url": endpoint_url, "port": port}


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@handle_errors
def list_labs(ctx: click.Context, as_json: bool) -> None:
    """List the labs, in prerequisite order, with your progress."""
    catalogue = catalogue_of(ctx)
    store = ProgressStore.open()
    rows: list[dict[str, Any]] = []
    for lab in catalogue.load_all():
        done = len(store.done_steps(lab.id) & {s.id for s in lab.steps})
        rows.append({"id": lab.id, "title": lab.title, "minutes": lab.minutes,
                     "steps": len(lab.steps), "done": done, "requires": lab.requires})
    if as_json:
        dump_json(rows)
        return
    for row in rows:
        needs = f"  (after {', '.join(row['requires'])})" if row["requires"] else ""
        click.echo(f"{row['id']:<22} {row['title']}  ·  {row['minutes']} min  ·  "
                   f"{row['done']}/{row['steps']} steps{needs}")


@click.command()
@click.argument("lab_id", metavar="LAB")
@var_option
@click.pass_context
@handle_errors
def show(ctx: click.Context, lab_id: str, variables: tuple[str, ...]) -> None:
    """Show a lab: summary, variables, and each step's suggested commands."""

    lab: Lab = catalogue_of(ctx).load(lab_id)
    values = {**builtin_variables(lab.id), **lab.variables, **parse_vars(variables)}
    resolved = resolve(lab, values)
    click.secho(f"{lab.title}  ({lab.id}, {lab.minutes} min)", bold=True)
    click.echo(lab.summary)
    if lab.requires:
        click.echo(f"Requires: {', '.join(lab.requires)}")
    if lab.cost:
        click.echo(f"On real AWS: {lab.cost}")
    click.echo("Variables: " + ", ".join(f"{k}={v}" for k, v in lab.variables.items()))
    for number, step in enumerate(resolved.steps, 1):
        click.secho(f"\n{number}. {step.title}  [--step {step.id}]", bold=True)
        for command in step.commands:
            click.echo(f"   $ {command}")
    if lab.quiz:
        click.echo(f"\nQuiz: {len(lab.quiz)} questions (in the app: key q).")


def print_report(report: StepReport, number: int) -> None:
    mark = "✓" if report.passed else "✗"
    colour = "green" if report.passed else "red"
    click.secho(f"{mark} {number}. {report.step.title}  [{report.step.id}]  "
                f"{report.points}/{report.total} points", fg=colour, bold=True)
    for result in report.results:
        print_result(result)


def print_result(result: Result) -> None:
    colour = {Status.PASSED: "green", Status.FAILED: "red", Status.ERROR: "yellow",
              Status.SKIPPED: "blue", Status.BLOCKED: "bright_black"}[result.status]
    click.secho(f"    {result.status.symbol} {result.message}", fg=colour)
    if result.status is Status.FAILED:
        if result.expected:
            click.echo(f"        expected: {result.expected}")
        if result.actual:
            click.echo(f"        found:    {result.actual}")
        if result.hint:
            click.secho(f"        hint: {result.hint}", dim=True)


@click.command()
@click.argument("lab_id", metavar="LAB")
@step_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable results.")
@target_options
@var_option
@click.pass_context
@handle_errors
def check(ctx: click.Context, lab_id: str, step_id: str | None, as_json: bool, target_kind: str,
          profile, region, endpoint_url, port, variables) -> None:
    """Check a lab's steps against the target's live state (read-only).

    Exit 0 when every check passed, 1 when some failed or every check was skipped (nothing
    was checked), 3 when the target could not be read.
    """
    session = _session(ctx, lab_id, variables,
                       _targs(target_kind, profile, region, endpoint_url, port))
    steps = _steps(session, step_id)
    reports = session.check_many(steps)
    results = [r for report in reports for r in report.results]
    statuses = [r.status for r in results]
    if as_json:
        dump_json({"lab": lab_id, "target": session.target.label(), "steps": [
            {"step": rep.step.id, "passed": rep.passed, "points": rep.points,
             "total": rep.total, "checks": [r.to_dict() for r in rep.results]}
            for rep in reports]})
    else:
        for report in reports:
            print_report(report, session.lab.step_index(report.step.id) + 1)
        points = sum(r.points for r in reports)
        total = sum(r.total for r in reports)
        done = sum(r.passed for r in reports)
        click.secho(f"\n{done}/{len(reports)} steps passed · {points}/{total} points",
                    bold=True)
    _say_if_nothing_checked(results)
    ctx.exit(int(exit_code_for(statuses)))


def _say_if_nothing_checked(results: list[Result]) -> None:
    """On stderr, so ``--json`` output stays JSON; the exit code (1) says it to scripts."""
    reason = nothing_checked(results)
    if reason:
        click.secho(f"Nothing was checked: {reason}", err=True, fg="yellow", bold=True)


@click.command()
@click.argument("lab_id", metavar="LAB")
@step_option
@click.option("--prerequisites", is_flag=True,
              help="First apply the solutions of the labs this one requires (fast-forward).")
@target_options
@var_option
@click.pass_context
@handle_errors
def solve(ctx: click.Context, lab_id: str, step_id: str | None, prerequisites: bool,
          target_kind, profile, region, endpoint_url, port, variables) -> None:
    """Run the reference solution of a lab (or one step), then check it.

    The solution is plain AWS CLI lines, printed as they run, so you can read what it did.
    """
    targs = _targs(target_kind, profile, region, endpoint_url, port)
    if prerequisites:
        from .devcheck import _prerequisites

        catalogue = catalogue_of(ctx)
        for required in _prerequisites(catalogue, catalogue.load(lab_id)):
            click.secho(f"Fast-forwarding {required.id}", bold=True)
            # a batch of known-good lines: run them in-process, 3-4x faster than `aws` processes
            code = _solve_steps(_session(ctx, required.id, (), targs, in_process_aws=True), None)
            if code is not ExitCode.OK:
                raise Fail(f"Fast-forwarding {required.id} failed; see above.", code)
    session = _session(ctx, lab_id, variables, targs)
    ctx.exit(int(_solve_steps(session, step_id)))


def _solve_steps(session: LabSession, step_id: str | None) -> ExitCode:
    results: list[Result] = []
    for step in _steps(session, step_id):
        click.secho(f"{step.title}  [{step.id}]", bold=True)
        for result in session.solve(step, on_output=lambda line: click.echo(f"  {line}")):
            if not result.ok:
                click.secho(f"  `{result.command}` exited {result.exit_code}; stopping.",
                            fg="red")
                return ExitCode.FAILED
        report = session.check(step)
        print_report(report, session.lab.step_index(step.id) + 1)
        results.extend(report.results)
    _say_if_nothing_checked(results)
    return exit_code_for([r.status for r in results])


@click.command()
@click.argument("lab_id", metavar="LAB")
@step_option
@click.option("--all", "show_all", is_flag=True, help="Show every hint at once.")
@var_option
@click.pass_context
@handle_errors
def hint(ctx: click.Context, lab_id: str, step_id: str | None, show_all: bool,
         variables) -> None:
    """Show the next hint for a step (hints go from a nudge to the answer)."""

    lab = catalogue_of(ctx).load(lab_id)
    resolved = resolve(lab, {**builtin_variables(lab.id), **lab.variables,
                             **parse_vars(variables)})
    store = ProgressStore.open()
    if step_id is None:
        done = store.done_steps(lab.id)
        step = next((s for s in resolved.steps if s.id not in done), resolved.steps[-1])
    else:
        step = _steps_of(resolved, step_id)
    if show_all:
        shown = len(step.hints)
    else:
        shown = store.take_hint(lab.id, step.id, len(step.hints))
    click.secho(f"{step.title}  [{step.id}]", bold=True)
    for number, text in enumerate(step.hints[:shown], 1):
        click.echo(f"  Hint {number}/{len(step.hints)}: {text}")
    if shown < len(step.hints):
        click.secho("  (run again for the next hint)", dim=True)


def _steps_of(lab: Lab, step_id: str) -> Step:
    try:
        return lab.step(step_id)
    except KeyError:
        known = ", ".join(s.id for s in lab.steps)
        raise Fail(f"Lab {lab.id} has no step {step_id!r}. Steps: {known}.",
                   ExitCode.USAGE) from None


@click.command()
@target_options
@handle_errors
def env(target_kind, profile, region, endpoint_url, port) -> None:
    """Print `export` lines that point your own shell's `aws` at the target.

    \b
    Use:  eval "$(cloudkata env)"
    """
    target = make_target(target_kind, profile, region, endpoint_url, port, identify=False)
    for name, value in target.exports().items():
        click.echo(f"export {name}={shlex.quote(value)}")
    if target.kind != "aws":
        click.echo("unset AWS_PROFILE AWS_SESSION_TOKEN")
    else:
        click.echo("unset AWS_ENDPOINT_URL")


@click.command()
@click.argument("lab_id", metavar="LAB")
@step_option
@click.option("--workspace", is_flag=True, help="Also restore the lab's starter files.")
@click.pass_context
@handle_errors
def reset(ctx: click.Context, lab_id: str, step_id: str | None, workspace: bool) -> None:
    """Forget your progress on a lab (or one step). AWS resources are not touched."""
    lab = catalogue_of(ctx).load(lab_id)
    if step_id:
        _steps_of(lab, step_id)
    ProgressStore.open().reset_lab(lab.id, step_id)
    if workspace:
        shutil.rmtree(locations.workspace_dir(lab.id), ignore_errors=True)
    click.echo(f"Progress on {lab.id}{' step ' + step_id if step_id else ''} is reset.")


@click.command()
@click.argument("lab_id", metavar="LAB")
@click.pass_context
@handle_errors
def quiz(ctx: click.Context, lab_id: str) -> None:
    """Answer a lab's knowledge-check quiz; each answer is explained and remembered."""
    lab = catalogue_of(ctx).load(lab_id)
    if not lab.quiz:
        raise Fail(f"Lab {lab.id} has no quiz.", ExitCode.USAGE)
    store = ProgressStore.open()
    right = 0
    for number, question in enumerate(lab.quiz, 1):
        click.secho(f"\n{number}/{len(lab.quiz)}. {question.question}", bold=True)
        for index, choice in enumerate(question.choices, 1):
            click.echo(f"   {index}) {choice}")
        answer = click.prompt("Your answer", type=click.IntRange(1, len(question.choices))) - 1
        correct = answer == question.answer
        right += correct
        store.answer_quiz(lab.id, question.id, answer, correct)
        verdict = "Right." if correct else f"Not quite: {question.answer + 1}) " \
            f"{question.choices[question.answer]}."
        click.secho(verdict, fg="green" if correct else "red")
        click.echo(f"   {question.explanation}")
    click.secho(f"\n{right}/{len(lab.quiz)} right.", bold=True)


@click.group()
def sandbox() -> None:
    """Run the embedded AWS sandbox (moto on 127.0.0.1) in the background."""


@sandbox.command("start")
@click.option("--port", type=int, default=manager.DEFAULT_PORT, show_default=True,
              envvar="CLOUDKATA_SANDBOX_PORT")
@click.option("--pace", type=click.Choice(["real", "fast"]), default="real", show_default=True,
              envvar="CLOUDKATA_SANDBOX_PACE",
              help="real: AWS's waits shortened 10x but visible (instances boot, targets go "
                   "initial -> healthy); fast: 100x, near-instant.")
@handle_errors
def sandbox_start(port: int, pace: str) -> None:
    """Start the sandbox (it keeps running until `cloudkata sandbox stop`).

    Its resources are saved as they change and come back on the next start.
    """
    started = time.monotonic()
    already = manager.status()
    info = manager.start(port, pace=pace)
    if already:
        click.echo(f"The sandbox is already running at {info.endpoint} (pid {info.pid}).")
    else:
        click.echo(f"Sandbox running at {info.endpoint} (pid {info.pid}, "
                   f"{time.monotonic() - started:.1f}s).")
    if info.warning:
        click.secho(info.warning, fg="yellow", err=True)
    click.echo('Point your shell at it with: eval "$(cloudkata env)"')


STOP_HELP = """Stop the sandbox this user started, and wait until its process has exited.

Its resources are saved first and come back on the next `cloudkata sandbox start`
(`cloudkata sandbox reset` is the command that deletes them). A sandbox that does not exit
within 10 seconds is killed, and its last few seconds of changes may be lost.
"""

port_filter = click.option(
    "--port", type=int, default=None, envvar="CLOUDKATA_SANDBOX_PORT",
    help="Only the sandbox on this port (default: yours, wherever it runs).")


@sandbox.command("stop", help=STOP_HELP)
@port_filter
@handle_errors
def sandbox_stop(port: int | None) -> None:
    if manager.stop(port=port, announce=say):
        click.echo("Sandbox stopped; its resources come back on the next start.")
    else:
        click.echo("No sandbox was running" + (f" on port {port}." if port else "."))


@sandbox.command("status")
@port_filter
@click.pass_context
@handle_errors
def sandbox_status(ctx: click.Context, port: int | None) -> None:
    """Say whether the sandbox runs, and where. Exit 3 when it does not."""
    info = manager.status(port=port)
    if info is None:
        where = f" on port {port}" if port else ""
        click.echo(f"The sandbox is not running{where} (start it with "
                   "`cloudkata sandbox start`).")
        ctx.exit(int(ExitCode.UNREACHABLE))
    click.echo(f"Running at {info.endpoint} (pid {info.pid}).")
    clock = manager.clock(info.endpoint)
    if clock:
        from datetime import UTC, datetime

        when = datetime.fromtimestamp(clock["now"], UTC).isoformat(timespec="seconds")
        speed = clock["speed"]
        pace = {10.0: "real", 100.0: "fast", 0.0: "frozen"}.get(speed, f"{speed:g}x")
        click.echo(f"Simulated time: {when} (pace {pace}: {speed:g} simulated seconds per "
                   "second). Use it for time windows, e.g. get-metric-statistics --start-time.")


@sandbox.command("reset")
@click.option("--port", type=int, default=manager.DEFAULT_PORT, envvar="CLOUDKATA_SANDBOX_PORT")
@handle_errors
def sandbox_reset(port: int) -> None:
    """Delete every resource in the sandbox (your progress is kept)."""
    info = manager.ensure_running(port, say)
    manager.reset(info.endpoint)
    click.echo("The sandbox is empty again.")


@sandbox.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--port", type=int, default=manager.DEFAULT_PORT, envvar="CLOUDKATA_SANDBOX_PORT")
@handle_errors
def sandbox_export(path: str, port: int) -> None:
    """Save everything in the sandbox to a file (hand it in; an instructor can grade it).

    The file holds data only: resources, their settings and the sandbox's clock.
    """
    info = manager.ensure_running(port, say)
    result = manager.export_state(info.endpoint, path)
    click.echo(f"Saved {result['bytes']:,} bytes ({', '.join(result['services']) or 'empty'}) "
               f"to {result['path']}.")


@sandbox.command("import")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@click.option("--port", type=int, default=manager.DEFAULT_PORT, envvar="CLOUDKATA_SANDBOX_PORT")
@handle_errors
def sandbox_import(path: str, port: int) -> None:
    """Replace everything in the sandbox with a file made by `sandbox export`.

    \b
    The file holds data only (never code), and all of it is checked before anything
    changes: a bad file leaves the sandbox exactly as it was and exits 2. A good one
    replaces every resource, including those of services the file does not mention.
    """
    info = manager.ensure_running(port, say)
    result = manager.import_state(info.endpoint, path)
    click.echo(f"Imported {', '.join(result['services']) or 'an empty sandbox'} from "
               f"{result['path']}.")


@sandbox.command("load")
@click.argument("service")
@click.option("--cluster", required=True, help="The service's cluster.")
@click.option("--cpu", type=click.FloatRange(0, 100), help="CPU utilisation, percent.")
@click.option("--memory", type=click.FloatRange(0, 100), help="Memory utilisation, percent.")
@click.option("--region", default="us-east-1", show_default=True)
@click.option("--port", type=int, default=manager.DEFAULT_PORT, envvar="CLOUDKATA_SANDBOX_PORT")
@handle_errors
def sandbox_load(service: str, cluster: str, cpu: float | None, memory: float | None,
                 region: str, port: int) -> None:
    """Apply synthetic load to an ECS service (sandbox only), to watch auto scaling work.

    \b
    The sandbox publishes it as the service's CPUUtilization / MemoryUtilization metrics;
    alarms and scaling policies react as on AWS. Example:
      cloudkata sandbox load web --cluster kata-cluster --cpu 85
    """
    if cpu is None and memory is None:
        raise Fail("Give --cpu and/or --memory.", ExitCode.USAGE)
    info = manager.ensure_running(port, say)
    load: dict[str, object] = {"cluster": cluster, "service": service, "region": region}
    if cpu is not None:
        load["cpu"] = cpu
    if memory is not None:
        load["memory"] = memory
    manager.set_load(info.endpoint, **load)
    parts = [f"CPU {cpu:g}%" if cpu is not None else "", f"memory {memory:g}%"
             if memory is not None else ""]
    click.echo(f"Service {service} in {cluster} now runs at {' and '.join(p for p in parts if p)}.")


@click.group()
def dev() -> None:
    """Tools for lab authors."""


@dev.command("check")
@click.argument("lab_ids", nargs=-1, metavar="[LAB]...")
@click.option("--static", is_flag=True,
              help="Only validate files and references; do not touch the sandbox.")
@click.option("--port", type=int, default=manager.DEFAULT_PORT, envvar="CLOUDKATA_SANDBOX_PORT")
@click.pass_context
@handle_errors
def dev_check_command(ctx: click.Context, lab_ids: tuple[str, ...], static: bool,
                      port: int) -> None:
    """Test labs like code: schema, references, and on a fresh sandbox that every step's
    checks fail before its solution and pass after it, that each of a step's `mistakes`
    applied to its solved state is caught by the check it names with the words it names,
    that the finished lab passes every step, and that teardown leaves nothing.

    It RESETS the sandbox (all resources are deleted). Exit 0 when all labs are sound, 2 if not.
    """
    from .devcheck import dev_check
    from .targets import resolve_target

    catalogue = catalogue_of(ctx)
    target = None if static else resolve_target("sandbox", port=port, announce=say)
    started = time.monotonic()
    verdicts = dev_check(catalogue, list(lab_ids) or None, target, say)
    for verdict in verdicts:
        caught = (f" ({verdict.mistakes.caught}/{verdict.mistakes.total} mistakes caught)"
                  if verdict.mistakes.total else "")
        if verdict.ok:
            click.secho(f"✓ {verdict.lab_id}{caught}", fg="green")
        else:
            click.secho(f"✗ {verdict.lab_id}{caught}", fg="red")
            for problem in verdict.problems:
                click.echo(f"    {problem}")
    bad = [v for v in verdicts if not v.ok]
    click.echo(f"{len(verdicts) - len(bad)}/{len(verdicts)} labs sound "
               f"({time.monotonic() - started:.1f}s).")
    ctx.exit(int(ExitCode.USAGE if bad else ExitCode.OK))


@dev.command("checks")
@click.argument("check_ids", nargs=-1, metavar="[CHECK]...")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable, for tools.")
@click.pass_context
@handle_errors
def dev_checks_command(ctx: click.Context, check_ids: tuple[str, ...], as_json: bool) -> None:
    """Every check a lab can `use:`: its parameters, the AWS calls it reads with, and an
    example from a lab that uses it.

    Generated from the check registry, the checks' own code and the labs, so it is always
    true. Name checks (or a prefix such as `iam.`) to see only those:

      cloudkata dev checks iam.role_trusts_service
      cloudkata dev checks ecs. --json
    """
    from .check_docs import check_docs, render_text

    docs = check_docs(catalogue_of(ctx))
    if check_ids:
        docs = [d for d in docs if any(d.id == c or (c.endswith(".") and d.id.startswith(c))
                                       for c in check_ids)]
        if not docs:
            raise click.UsageError(f"No check is named {', '.join(check_ids)}; "
                                   "`cloudkata dev checks` lists them all.")
    if as_json:
        dump_json([doc.to_dict() for doc in docs])
    else:
        click.echo(render_text(docs))


COMMANDS = [list_labs, show, check, solve, hint, env, reset, quiz, sandbox, dev]
"""The subcommands of the root command (``cli.main`` adds them)."""
