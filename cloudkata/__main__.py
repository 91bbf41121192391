"""``python -m cloudkata`` is the same as the ``cloudkata`` command."""

from cloudkata.cli import run

run()
