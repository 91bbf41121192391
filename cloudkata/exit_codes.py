"""The CLI's exit codes are an API: scripts and CI jobs branch on them."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Every check passed (or the command did what it was asked)."""
    FAILED = 1
    """Some check failed: the learner's state is not there yet. Also when nothing was checked
    (every check skipped on this target): a run that judged nothing must not read as a pass."""
    USAGE = 2
    """A usage or content error: unknown lab or step, a malformed lab file, a bad option."""
    UNREACHABLE = 3
    """The target cannot be used: endpoint down, no credentials, unknown profile, throttled."""
