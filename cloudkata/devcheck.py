"""Content is tested like code: ``cloudkata dev check``.

Static: the schema is valid, every referenced check exists and its params validate, every
Markdown file exists, every variable in a command is defined. Live, on a fresh sandbox (its
clock fast-forwarded by each step's ``settle`` time after the solution, as ``solve`` does): the
prerequisite labs are fast-forwarded, each step's checks all fail before its solution and all
pass after it, and the teardown leaves nothing behind that the lab made.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cloudkata.checks.result import Status
from cloudkata.labs import Catalogue, Lab, LabFileError, resolve
from cloudkata.labs.schema import VARIABLE

from . import inventory
from .engine import LabSession, builtin_variables, check_step, reference_problems
from .sandbox import manager
from .targets import Target


@dataclass
class LabVerdict:
    lab_id: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


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
        for line in [*step.commands, *step.solution, *step.hints]:
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
                  say: Callable[[str], None], end_states: EndStates | None = None) -> list[str]:
    """Fail-before / pass-after for every step, then teardown leaves nothing behind."""
    problems: list[str] = []
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
            for result in session.solve(step):
                if not result.ok:
                    return [f"prerequisite {required.id} step {step.id}: `{result.command}` "
                            f"failed: {result.output.strip()[-300:]}"]
    session = LabSession(lab, target, catalogue, in_process_aws=True)
    session.reset_workspace()
    services = inventory.services_used([*session.lab.teardown,
                                        *(line for s in session.lab.steps for line in s.solution)])
    before = inventory.take(session.aws, services)
    for step in session.lab.steps:
        report = check_step(session.aws, step)
        early = [r for r in report.results if r.status is not Status.FAILED]
        for result in early:
            problems.append(f"step {step.id}: {result.check_id} is {result.status.value} before "
                            f"the solution ({result.message})")
        for result in session.solve(step):
            if not result.ok:
                problems.append(f"step {step.id}: solution `{result.command}` failed: "
                                f"{result.output.strip()[-300:]}")
                return problems
        report = check_step(session.aws, step)
        for result in report.results:
            if result.status is not Status.PASSED:
                problems.append(f"step {step.id}: {result.check_id} is {result.status.value} "
                                f"after the solution ({result.message})")
        say(f"  step {step.id}: {'ok' if not problems else 'PROBLEMS'}")
    if end_states is not None and target.endpoint_url and not problems:
        end_states.save(target.endpoint_url, (*chain, lab.id))
    for result in session.teardown():
        if not result.ok:
            problems.append(f"teardown `{result.command}` failed: {result.output.strip()[-300:]}")
    left = inventory.take(session.aws, services) - before
    if left:
        problems.append("teardown left behind: " + ", ".join(sorted(left)))
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
        if verdict.problems or target is None:
            continue
        verdict.problems.extend(live_problems(catalogue, lab, target, say, end_states))
    return verdicts
