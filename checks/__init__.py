"""Read-only state checks: what lab authors import.

A check is a small function registered with ``@check``; it receives a :class:`ReadOnlyAws`
and its validated params and returns a :class:`Result` built with ``passed``/``failed``.
"""

from .registry import CheckSpec, NoParams, Params, all_checks, check, get
from .result import Result, Status, error, failed, passed, skipped
from .session import ReadOnlyAws, ReadOnlyViolation, make_read_only

__all__ = [
    "CheckSpec", "NoParams", "Params", "ReadOnlyAws", "ReadOnlyViolation", "Result", "Status",
    "all_checks", "check", "error", "failed", "get", "make_read_only", "passed", "skipped",
]
