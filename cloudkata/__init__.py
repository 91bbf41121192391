"""cloudkata: hands-on AWS container labs, checked against live state.

The engine (this package) knows nothing of Textual; ``cloudkata.tui`` and ``cloudkata.cli``
are two thin faces over it. Lab authors import ``cloudkata.checks`` and ``cloudkata.labs``.
"""

__version__ = "0.1.0"
