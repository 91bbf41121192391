"""The command console: type a shell line, see its output stream in as it comes.

The console owns its queue: one command runs at a time in a thread worker, and lines typed
meanwhile wait their turn. ``on_state(busy)`` tells the screen when work starts and ends, on
the UI thread, so it can re-check the step straight after every command.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, RichLog

from cloudkata.runner import CommandResult

from ..text import one_line
from .lab_console_input import ConsoleInput

PLACEHOLDER = "Type a command, e.g. aws iam list-roles, then Enter  (esc: keys)"
RunLine = Callable[..., CommandResult]


class Console(Vertical):
    def __init__(self, run: RunLine, cancel: Callable[[], bool],
                 on_state: Callable[[bool], None], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run_line = run
        self.cancel_line = cancel
        self.on_state = on_state
        self.queue: list[tuple[list[str], bool, Callable[[], object] | None]] = []
        self.busy = False

    def compose(self) -> ComposeResult:
        yield RichLog(id="console-log", wrap=True, min_width=20, max_lines=5000)
        yield ConsoleInput(id="console-input", placeholder=PLACEHOLDER)

    @property
    def log_widget(self) -> RichLog:
        return self.query_one(RichLog)

    @property
    def idle(self) -> bool:
        return not self.busy and not self.queue

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        line = event.value.strip()
        event.input.value = ""
        if not line:
            return
        self.query_one(ConsoleInput).remember(line)
        if line in ("clear", "cls"):
            self.log_widget.clear()
            return
        self.submit([line])

    def submit(self, lines: list[str], stop_on_failure: bool = False,
               after: Callable[[], object] | None = None) -> None:
        """Run these lines in order, after whatever is running now.

        ``after`` runs in the worker once every line succeeded (e.g. let the sandbox's clock
        catch up after a step's solution), before the step is re-checked.
        """
        if self.busy:
            self.note(f"(waits for the running command: {' ; '.join(lines)[:60]})")
        self.queue.append((lines, stop_on_failure, after))
        self._pump()

    def _pump(self) -> None:
        if self.busy or not self.queue:
            return
        lines, stop_on_failure, after = self.queue.pop(0)
        self._set_busy(True)
        self._run(lines, stop_on_failure, after)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        console_input = self.query_one(ConsoleInput)
        console_input.command_running = busy
        console_input.refresh_bindings()
        self.on_state(busy)

    def on_console_input_interrupt(self, event: ConsoleInput.Interrupt) -> None:
        event.stop()
        self.queue.clear()
        self.note("Stopping the running command (ctrl+c)…", "yellow")
        self._interrupt()

    @work(thread=True, group="console-stop", exit_on_error=False)
    def _interrupt(self) -> None:
        self.cancel_line()

    @work(thread=True, group="console", exit_on_error=False)
    def _run(self, lines: list[str], stop_on_failure: bool,
             after: Callable[[], object] | None = None) -> None:
        call = self.app.call_from_thread
        try:
            for line in lines:
                call(self.echo, line)
                result = self.run_line(line, on_output=lambda out: call(self.output, out))
                call(self.finished, result)
                if stop_on_failure and not result.ok:
                    call(self.note, "Stopped at the command that failed.", "yellow")
                    break
            else:
                if after is not None:
                    after()
        except Exception as exc:  # noqa: BLE001 - one line in the console, never a traceback
            call(self.note, f"! The command could not run: {one_line(exc)}", "bold red")
        finally:
            call(self._done)

    def _done(self) -> None:
        self._set_busy(False)
        self._pump()

    def echo(self, line: str) -> None:
        self.log_widget.write(Text.assemble(("$ ", "bold"), (line, "bold cyan")))

    def output(self, line: str) -> None:
        self.log_widget.write(Text(line))

    def note(self, line: str, style: str = "dim italic") -> None:
        self.log_widget.write(Text(line, style=style))

    def finished(self, result: CommandResult) -> None:
        if result.ok:
            self.note(f"✓ exit 0 · {result.seconds:.1f} s", "green")
        else:
            self.note(f"✗ exit {result.exit_code} · {result.seconds:.1f} s", "bold red")
