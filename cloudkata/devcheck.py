"""Content is tested like code: ``cloudkata dev check``.

Static: the schema is valid, every referenced check exists and its params validate, every
Markdown file exists, every variable in a command is defined. Live, on a fresh sandbox (its
clock fast-forwarded by each step's ``settle`` time after the solution, as ``solve`` does): the
prerequisite labs are fast-forwarded, each step's checks all fail before its solution and all
pass after it, each of the step's ``mistakes`` applied to that solved state is caught by the
check it names with the words it names (the state is put back from an in-memory checkpoint, not
solved again), the finished lab passes every step, and the teardown leaves nothing behind.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cloudkata.checks.result import Result, Status
from cloudkata.labs import Catalogue, Lab, LabFileError, Step, resolve
from cloudkata.labs.schema import VARIABLE, Mistake

from . import inventory
from .engine import (
    LabSession,
    builtin_variables,
    check_step,
    check_steps,
    reference_problems,
)
from .sandbox import manager
from .targets import Target

MIN_MISTAKES = 3
"""Each step proves this many realistic mistakes are caught, each by the right check."""


@dataclass
class MistakeTally:
    caught: int = 0
    total: int = 0


@dataclass
class LabVerdict:
    lab_id: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mistakes: MistakeTally = field(default_factory=lambda: MistakeTally())

    @property
    def ok(self) -> bool:
        return not self.problems


def coverage_problems(lab: Lab) -> list[str]:
    """Steps that prove too few mistakes caught (reported, but the live run still goes on)."""
    return [f"step {step.id}: declares {len(step.mistakes)} mistakes; every step proves at "
            f"least {MIN_MISTAKES} are caught" for step in lab.steps
            if len(step.mistakes) < MIN_MISTAKES]


def static_problems(catalogue: Catalogue, lab: Lab) -> list[str]:
    """Everything wrong with a lab that needs no AWS at all."""
    problems: list[str] = []
    variables = builtin_variables(lab.id) | lab.variables
    resolved = resolve(lab, variables)
    known = set(catalogue.ids())
    for required in lab.requires:
        if required not in known:
            problems.append(f"requires {required!r}, which is not in the catalogue")
    for relative in [lab.concepts, lab.workspace, *(s.text for s in lab.steps)]:
        if relative and not catalogue.content_path(relative).exists():
            problems.append(f"content file {relative} does not exist")
    problems.extend(reference_problems(resolved))
    for step in resolved.steps:
        mistake_lines = [line for mistake in step.mistakes for line in mistake.commands]
        for line in [*step.commands, *step.solution, *step.hints, *mistake_lines]:
            for name in VARIABLE.findall(line):
                if name not in variables and not name.isupper():
                    problems.append(f"step {step.id}: unknown variable {{{name}}} in {line!r}")
    return problems


class EndStates:
    """Sandbox exports of labs' end states, so a dependent lab need not replay them.

    The key is the ordered list of labs whose solutions made the state; ``alb-service`` (after
    ecs-iam-roles, ecs-cluster, task-definitions) reuses what ``task-definitions``'s own check
    left behind instead of running three labs' solutions again.
    """

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="cloudkata-devcheck-"))
        self.saved: dict[tuple[str, ...], Path] = {}

    def save(self, endpoint: str, labs: tuple[str, ...]) -> None:
        path = self.folder / ("+".join(labs) + ".bin")
        manager.export_state(endpoint, path)
        self.saved[labs] = path

    def restore(self, endpoint: str, labs: tuple[str, ...]) -> bool:
        path = self.saved.get(labs)
        if path is None:
            return False
        manager.import_state(endpoint, path)
        return True


def live_problems(catalogue: Catalogue, lab: Lab, target: Target,
                  say: Callable[[str], None], end_states: EndStates | None = None,
                  tally: MistakeTally | None = None) -> list[str]:
    """Fail-before / pass-after for every step, each mistake caught, the finished lab passes
    every step, then teardown leaves nothing behind."""
    problems: list[str] = []
    tally = tally if tally is not None else MistakeTally()
    if target.endpoint_url:
        manager.reset(target.endpoint_url)
    prerequisites = _prerequisites(catalogue, lab)
    chain = tuple(required.id for required in prerequisites)
    reused = bool(chain) and end_states is not None and target.endpoint_url is not None \
        and end_states.restore(target.endpoint_url, chain)
    if reused:
        say(f"  start from the saved end state of {', '.join(chain)}")
    for required in [] if reused else prerequisites:
        say(f"  fast-forward {required.id}")
        session = LabSession(required, target, catalogue, in_process_aws=True)
        for step in session.lab.steps:
            for outcome in session.solve(step):
                if not outcome.ok:
                    return [f"prerequisite {required.id} step {step.id}: `{outcome.command}` "
                            f"failed: {outcome.output.strip()[-300:]}"]
    session = LabSession(lab, target, catalogue, in_process_aws=True)
    session.reset_workspace()
    services = inventory.services_used([*session.lab.teardown,
                                        *(line for s in session.lab.steps for line in s.solution)])
    before = inventory.take(session.aws, services)
    solved_ok = True
    for step in session.lab.steps:
        report = check_step(session.aws, step)
        early = [r for r in report.results if r.status not in (Status.FAILED, Status.BLOCKED)]
        for result in early:
            problems.append(f"step {step.id}: {result.check_id} is {result.status.value} before "
                            f"the solution ({result.message})")
        for outcome in session.solve(step):
            if not outcome.ok:
                problems.append(f"step {step.id}: solution `{outcome.command}` failed: "
                                f"{outcome.output.strip()[-300:]}")
                return problems
        report = check_step(session.aws, step)
        unsolved = [f"step {step.id}: {result.check_id} is {result.status.value} after the "
                    f"solution ({result.message})"
                    for result in report.results if result.status is not Status.PASSED]
        problems.extend(unsolved)
        say(f"  step {step.id}: {'ok' if not unsolved else 'PROBLEMS'}")
        solved_ok = solved_ok and not unsolved
        if not unsolved and step.mistakes:
            mistake_problems = _mistake_problems(session, step, tally)
            problems.extend(mistake_problems)
            say(f"  step {step.id}: {len(step.mistakes) - len(mistake_problems)}/"
                f"{len(step.mistakes)} mistakes caught")
    if tally.total:
        say(f"  {tally.caught}/{tally.total} mistakes caught")
    finished = _finished_lab_problems(session)
    problems.extend(finished)
    say(f"  finished lab: {'every step passes' if not finished else 'PROBLEMS'}")
    if end_states is not None and target.endpoint_url and solved_ok and not finished:
        end_states.save(target.endpoint_url, (*chain, lab.id))
    for outcome in session.teardown():
        if not outcome.ok:
            problems.append(f"teardown `{outcome.command}` failed: "
                            f"{outcome.output.strip()[-300:]}")
    left = inventory.take(session.aws, services) - before
    if left:
        problems.append("teardown left behind: " + ", ".join(sorted(left)))
    return problems


CHECKPOINT = "devcheck-solved-step"


def _mistake_problems(session: LabSession, step: Step, tally: MistakeTally) -> list[str]:
    """Apply each of the step's mistakes to its solved state; the named check must catch it.

    The solved state is kept once (a checkpoint in the sandbox's memory, the workspace
    copied aside) and put back after every mistake, so no mistake sees another's damage and
    nothing is solved twice.
    """
    endpoint = session.target.endpoint_url
    if session.target.kind != "sandbox" or not endpoint:
        return []
    problems: list[str] = []
    manager.checkpoint(endpoint, CHECKPOINT)
    kept = Path(tempfile.mkdtemp(prefix="cloudkata-workspace-"))
    shutil.copytree(session.workspace, kept, dirs_exist_ok=True, symlinks=True)
    try:
        for mistake in step.mistakes:
            tally.total += 1
            problem = _mistake_problem(session, step, mistake)
            if problem:
                problems.append(f"step {step.id}: mistake {mistake.name!r}: {problem}")
            else:
                tally.caught += 1
            manager.rollback(endpoint, CHECKPOINT)
            shutil.rmtree(session.workspace, ignore_errors=True)
            shutil.copytree(kept, session.workspace, symlinks=True)
    finally:
        shutil.rmtree(kept, ignore_errors=True)
    return problems


def _mistake_problem(session: LabSession, step: Step, mistake: Mistake) -> str | None:
    """Why this mistake is not proven caught, or None when it is."""
    for line in mistake.commands:
        result = session.run(line)
        if not result.ok:
            return f"`{line}` failed: {result.output.strip()[-300:]}"
    if mistake.settle and session.target.endpoint_url:
        manager.advance(session.target.endpoint_url, mistake.settle)
    report = check_step(session.aws, step)
    named = [r for r in report.results if r.check_id == mistake.caught_by]
    failing = [r for r in named if r.status is Status.FAILED]
    says = re.compile(mistake.says)
    if any(says.search(_words(r)) for r in failing):
        return None
    if failing:
        return (f"{mistake.caught_by} fails, but not saying /{mistake.says}/: "
                + " | ".join(r.message for r in failing))
    others = [r for r in report.results if r.status is Status.FAILED]
    if others:
        return (f"{mistake.caught_by} passes; it is caught only by "
                + ", ".join(f"{r.check_id} ({r.message})" for r in others))
    not_failed = "; ".join(f"{r.check_id} is {r.status.value}: {r.message}"
                           for r in named if r.status is not Status.PASSED)
    return "no check of the step fails" + (f" ({not_failed})" if not_failed else "")


def _words(result: Result) -> str:
    """What the learner reads of a result: the sentence, then expected and actual."""
    return "\n".join(part for part in (result.message, result.expected, result.actual) if part)


def _finished_lab_problems(session: LabSession) -> list[str]:
    """With every step solved, every step passes: later steps keep earlier outcomes true."""
    problems: list[str] = []
    for report in check_steps(session.aws, list(session.lab.steps)):
        step = report.step
        for result in report.results:
            if result.status is not Status.PASSED:
                problems.append(f"finished lab: step {step.id}: {result.check_id} is "
                                f"{result.status.value} ({result.message})")
    return problems


def _prerequisites(catalogue: Catalogue, lab: Lab) -> list[Lab]:
    ordered: list[Lab] = []

    def visit(lab_id: str) -> None:
        for required in catalogue.load(lab_id).requires:
            if required not in [x.id for x in ordered]:
                visit(required)
                ordered.append(catalogue.load(required))

    visit(lab.id)
    return ordered


def dev_check(catalogue: Catalogue, lab_ids: list[str] | None, target: Target | None,
              say: Callable[[str], None] = lambda _: None) -> list[LabVerdict]:
    """Check the given labs (all when None); ``target`` None means static checks only."""
    verdicts: list[LabVerdict] = []
    try:
        order = [lab.id for lab in catalogue.load_all()]
    except LabFileError:
        order = catalogue.ids()
    ids = sorted(lab_ids, key=lambda i: order.index(i) if i in order else -1) if lab_ids \
        else order
    end_states = EndStates() if target is not None else None
    for lab_id in ids:
        verdict = LabVerdict(lab_id)
        verdicts.append(verdict)
        try:
            lab = catalogue.load(lab_id)
        except LabFileError as exc:
            verdict.problems.extend(str(exc).splitlines())
            continue
        say(f"{lab_id}: schema ok")
        verdict.problems.extend(static_problems(catalogue, lab))
        if not verdict.problems and target is not None:
            verdict.problems.extend(live_problems(catalogue, lab, target, say, end_states,
                                                  verdict.mistakes))
        verdict.problems.extend(coverage_problems(lab))
    return verdicts
