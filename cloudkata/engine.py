"""The engine both faces use: open a lab on a target, run its checks, solve, hint.

Nothing here knows about Textual or click; the TUI and the CLI are thin faces over this.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from pydantic import ValidationError

from cloudkata.checks import registry
from cloudkata.checks.errors import result_for_exception
from cloudkata.checks.result import Result, Status
from cloudkata.checks.session import ReadOnlyAws
from cloudkata.labs import Catalogue, Lab, Step, resolve, substitute

from . import locations
from .progress import ProgressStore
from .runner import CommandResult, ShellSession
from .targets import Target

WAITER_LINE = re.compile(r"\baws\s+[a-z0-9-]+\s+wait\s")
WAITER_CATCH_UP = 600.0
"""Simulated seconds: longer than any life cycle the sandbox simulates (EKS: 120 s + 60 s),
shorter than the 15 idle minutes after which managed scaling removes an instance."""


@dataclass(frozen=True)
class StepReport:
    step: Step
    results: list[Result]

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.status is Status.PASSED for r in self.results)

    @property
    def has_errors(self) -> bool:
        return any(r.status is Status.ERROR for r in self.results)

    @property
    def points(self) -> int:
        return sum(r.points for r in self.results if r.status is Status.PASSED)

    @property
    def total(self) -> int:
        return sum(r.points for r in self.results)


def reference_problems(lab: Lab) -> list[str]:
    """Check ids that are not registered and params their check refuses, per step.

    Run before a lab is used, so a typo in a lab file is a content error (exit 2), not a
    check that crashes or a learner told they failed.
    """
    problems: list[str] = []
    for step in lab.steps:
        for number, ref in enumerate(step.checks):
            where = f"step {step.id}, check {number + 1} ({ref.use})"
            try:
                spec = registry.get(ref.use)
            except registry.UnknownCheckError as exc:
                problems.append(f"{where}: {exc}")
                continue
            try:
                spec.params.model_validate(ref.with_)
            except ValidationError as exc:
                for err in exc.errors():
                    field = ".".join(str(part) for part in err["loc"]) or "with"
                    problems.append(f"{where}: with.{field}: {err['msg']}")
    return problems


def run_check(aws: ReadOnlyAws, ref_use: str, params: dict, points: int,
              fallback_hint: str | None = None) -> Result:
    """Run one registered check; anything it raises becomes a readable Result."""
    try:
        spec = registry.get(ref_use)
    except registry.UnknownCheckError as exc:
        return Result(Status.ERROR, f"Lab content error: {exc}", check_id=ref_use,
                      points=points)
    try:
        result = spec.function(aws, spec.params.model_validate(params))
    except Exception as exc:  # noqa: BLE001 - every failure must become one sentence
        result = result_for_exception(exc, service=spec.service, endpoint=aws.endpoint_url)
    hint = result.hint or spec.hint or fallback_hint
    if result.status is not Status.FAILED:
        hint = result.hint
    return result.with_meta(check_id=spec.id, title=spec.title, points=points, hint=hint)


CHECK_THREADS = 8
"""Checks of a run in flight at once: their reads overlap instead of queueing one by one."""


def check_step(aws: ReadOnlyAws, step: Step) -> StepReport:
    return check_steps(aws, [step])[0]


def check_steps(aws: ReadOnlyAws, steps: list[Step]) -> list[StepReport]:
    """Check several steps as one run: fresh answers, each read made once, checks concurrent.

    The cache is cleared once, so a resource several checks (or steps) look at is described
    once per run; the checks run in threads, so independent reads overlap. Results keep the
    lab's order.
    """
    aws.clear_cache()
    jobs = [(step, ref) for step in steps for ref in step.checks]
    if len(jobs) == 1:
        results = [run_check(aws, jobs[0][1].use, jobs[0][1].with_, jobs[0][1].points,
                             jobs[0][0].hints[0])]
    else:
        with ThreadPoolExecutor(max_workers=min(CHECK_THREADS, len(jobs)),
                                thread_name_prefix="check") as pool:
            results = list(pool.map(
                lambda job: run_check(aws, job[1].use, job[1].with_, job[1].points,
                                      job[0].hints[0]), jobs))
    reports, start = [], 0
    for step in steps:
        mine = results[start:start + len(step.checks)]
        start += len(step.checks)
        reports.append(StepReport(step, one_message_per_cause(mine)))
    return reports


MISSING = re.compile(r"^(?P<subject>.+?) does not exist\b")


def missing_subject(result: Result) -> str | None:
    """What a failure says is absent ("Role ecsInstanceRole"), when it says so."""
    if result.status is not Status.FAILED:
        return None
    match = MISSING.match(result.message)
    if not match or match["subject"].lower().startswith(("the resource", "it ")):
        return None  # too vague to tell two causes apart
    return match["subject"]


def one_message_per_cause(results: list[Result]) -> list[Result]:
    """One cause, one message: the first check that finds a subject missing says so; later
    checks failing for the same missing subject (or with the very same sentence) are shown as
    "not checked" and blocked by it, instead of repeating the sentence as failures of their own.
    """
    causes: dict[str, Result] = {}
    kept: list[Result] = []
    for result in results:
        if result.status is not Status.FAILED:
            kept.append(result)
            continue
        subject = missing_subject(result)
        first = causes.get(subject.lower()) if subject else None
        first = first or causes.get(result.message)
        if first is None:
            causes[result.message] = result
            if subject:
                causes[subject.lower()] = result
            kept.append(result)
            continue
        needs = first_lower(missing_subject(first) or first.title or first.check_id)
        kept.append(replace(result, status=Status.BLOCKED, blocked_by=first.check_id,
                            message=f"Not checked: needs {needs}.", expected=None,
                            actual=None, hint=None))
    return kept


def first_lower(words: str) -> str:
    """"Role x" -> "role x"; "EKS cluster" and "IAM" stay as they are (acronyms)."""
    if len(words) > 1 and words[0].isupper() and words[1].islower():
        return words[0].lower() + words[1:]
    return words


def builtin_variables(lab_id: str, target: Target | None = None) -> dict[str, str]:
    """Variables every lab may use: {region}, {account_id}, {workspace}."""
    return {
        "region": target.region if target else "us-east-1",
        "account_id": (target.account_id if target else None) or "123456789012",
        "workspace": str(locations.workspace_dir(lab_id)),  # checks may read the learner's files
    }


class LabSession:
    """One learner working one lab on one target: variables, workspace, console, progress."""

    def __init__(self, lab: Lab, target: Target, catalogue: Catalogue,
                 overrides: dict[str, str] | None = None,
                 progress: ProgressStore | None = None, *,
                 in_process_aws: bool = False) -> None:
        self.raw_lab = lab
        self.target = target
        self.catalogue = catalogue
        self.workspace = locations.workspace_dir(lab.id)
        self.variables = {**builtin_variables(lab.id, target), **lab.variables,
                          **(overrides or {})}
        self.lab = resolve(lab, self.variables)
        self.progress = progress
        self.prepare_workspace()
        self.shell = ShellSession(self.workspace, target.env(), in_process_aws=in_process_aws)
        self._aws: ReadOnlyAws | None = None

    @property
    def aws(self) -> ReadOnlyAws:
        if self._aws is None:
            self._aws = self.target.read_only()
        return self._aws

    def prepare_workspace(self, overwrite: bool = False) -> None:
        """Copy the lab's starter files (variables filled in) into its workspace."""
        if not self.lab.workspace:
            return
        source = self.catalogue.content_path(self.lab.workspace)
        for path in sorted(source.glob("*")):
            if not path.is_file():
                continue
            dest = self.workspace / path.name
            if overwrite or not dest.exists():
                dest.write_text(substitute(path.read_text(encoding="utf-8"), self.variables),
                                encoding="utf-8")

    def reset_workspace(self) -> None:
        shutil.rmtree(self.workspace, ignore_errors=True)
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.prepare_workspace(overwrite=True)
        self.shell.forget()

    def instructions(self, step: Step) -> str:
        return substitute(self.catalogue.text(step.text), self.variables)

    def concepts(self) -> str | None:
        if not self.lab.concepts:
            return None
        return substitute(self.catalogue.text(self.lab.concepts), self.variables)

    def step(self, step_id: str) -> Step:
        return self.lab.step(step_id)

    def check(self, step: Step) -> StepReport:
        return self.check_many([step])[0]

    def check_many(self, steps: list[Step]) -> list[StepReport]:
        """Check steps in one run (see :func:`check_steps`) and record the progress."""
        reports = check_steps(self.aws, steps)
        if self.progress is not None:
            for report in reports:
                self.progress.record_attempt(self.lab.id, report.step.id)
                if report.passed:
                    self.progress.mark_done(self.lab.id, report.step.id, self.target.kind)
        return reports

    def check_all(self) -> list[StepReport]:
        return self.check_many(list(self.lab.steps))

    def run(self, command: str, on_output: Callable[[str], None] | None = None) -> CommandResult:
        return self.shell.run(command, on_output=on_output)

    def cancel(self) -> bool:
        """Stop the console command that is running, if any."""
        return self.shell.cancel()

    def _catch_up_before(self, line: str) -> None:
        """Before an ``aws ... wait ...`` line on the sandbox, let simulated time pass.

        A waiter polls every 15–30 real seconds; with the sandbox's clock frozen (tests) or
        compressed it would wait for nothing. Jumping ahead by what the slowest AWS operation
        we simulate takes lets it see the final state on its first poll.
        """
        if (self.target.kind == "sandbox" and self.target.endpoint_url
                and WAITER_LINE.search(line)):
            from .sandbox import manager

            manager.advance(self.target.endpoint_url, WAITER_CATCH_UP)

    def solve(self, step: Step, on_output: Callable[[str], None] | None = None,
              echo: bool = True,
              on_command: Callable[[str], None] | None = None) -> list[CommandResult]:
        """Run the step's reference solution; stop at the first command that fails.

        ``on_command`` hears each command before it runs (a UI can style it); without it the
        command is echoed to ``on_output`` as ``$ command``.
        """
        results = []
        for line in step.solution:
            if on_command:
                on_command(line)
            elif echo and on_output:
                on_output(f"$ {line}")
            self._catch_up_before(line)
            result = self.shell.run(line, on_output=on_output)
            results.append(result)
            if not result.ok:
                break
        else:
            self.settle(step)
        return results

    def settle(self, step: Step) -> None:
        """On the sandbox, fast-forward its clock by the time AWS needs after this step."""
        if step.settle and self.target.kind == "sandbox" and self.target.endpoint_url:
            from .sandbox import manager

            manager.advance(self.target.endpoint_url, step.settle)

    def teardown(self, on_output: Callable[[str], None] | None = None) -> list[CommandResult]:
        """Run every teardown line, even after one fails: remove as much as can be removed."""
        results = []
        for line in self.lab.teardown:
            if on_output:
                on_output(f"$ {line}")
            self._catch_up_before(line)
            results.append(self.shell.run(line, on_output=on_output))
        return results

    def next_hint(self, step: Step) -> tuple[int, str]:
        """Reveal the next hint; returns (number shown, that hint)."""
        shown = 1
        if self.progress is not None:
            shown = self.progress.take_hint(self.lab.id, step.id, len(step.hints))
        return shown, step.hints[shown - 1]

    def hints_shown(self, step: Step) -> list[str]:
        if self.progress is None:
            return []
        return step.hints[: self.progress.hints_taken(self.lab.id, step.id)]

    def first_unfinished(self) -> Step:
        done = self.progress.done_steps(self.lab.id) if self.progress else set()
        for step in self.lab.steps:
            if step.id not in done:
                return step
        return self.lab.steps[-1]
