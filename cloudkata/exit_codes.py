"""The CLI's exit codes are an API: scripts and CI jobs branch on them."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Every check passed (or the command did what it was asked)."""
    FAILED = 1
    """Some check failed: the learner's state is not there yet."""
    USAGE = 2
    """A usage or content error: unknown lab or step, a malformed lab file, a bad option."""
    UNREACHABLE = 3
    """The target cannot be used: endpoint down, no credentials, unknown profile, throttled."""
