"""Every change the sandbox makes to moto's classes and modules, in one registry.

moto is AWS's shape but not always its behaviour, so the sandbox patches it (see
:mod:`cloudkata.sandbox.fidelity` and :mod:`cloudkata.sandbox.behaviours`). Each patch goes
through this module, which records what it replaced, with what, why and from which module,
and applies it. Four forms::

    @patches.wrap(CloudWatchBackend, "put_metric_alarm", why="...")
    def put_metric_alarm(original, self, *args, **kwargs):   # moto's own, always
        ...

    @patches.replace(EC2ContainerServiceBackend, "stop_task", why="...")
    def stop_task(self, ...): ...                             # moto's is not called

    patches.patch(Task, "status", property(get, set), why="...")   # any value
    patches.add(NetworkInterface, "private_dns_name", None, why="...")  # moto has none

Guarantees, whatever order the modules registering patches are imported in:

* A wrapper always receives moto's own attribute, never another patch: the original is
  taken from moto before the first patch of that attribute and kept here. A patch that is
  registered again (the module re-imported or reloaded, ``fidelity.apply_all()`` run twice)
  changes nothing.
* An attribute has one patch. A second module patching the same attribute raises
  :class:`PatchConflict`: compose the two behaviours in one patch, explicitly (see
  ``ec2_autoscaling``'s ``replace_autoscaling_group_instances``).
* ``tests/sandbox/test_patches.py`` checks every target still exists in the installed moto
  (so an upgrade that renames one fails with its name) and that import order changes nothing.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""The "original" of an attribute moto does not have (see :func:`add`)."""

WRAP, REPLACE, SET, ADD = "wrap", "replace", "set", "add"
_MARK = "__cloudkata_patch__"


class PatchConflict(RuntimeError):
    """Two different patches for one moto attribute."""


@dataclass(frozen=True)
class Patch:
    owner: Any
    """The moto class or module patched."""
    attribute: str
    original: Any
    """moto's own value, as ``getattr(owner, attribute)`` gave it before any patch (MISSING
    for :func:`add`)."""
    replacement: Any
    kind: str
    """``wrap`` (calls ``original``), ``replace`` (a function that does not), ``set`` (any
    other value) or ``add`` (an attribute moto lacks)."""
    why: str
    by: str
    """The module that registered the patch."""
    site: str
    """What was registered (a function's qualified name, or a value's repr): a patch
    registered again by the same module with the same site is the same patch."""

    @property
    def target(self) -> str:
        return f"{owner_name(self.owner)}.{self.attribute}"

    @property
    def applied(self) -> bool:
        return getattr(self.owner, self.attribute, MISSING) is self.replacement


_REGISTRY: dict[tuple[Any, str], Patch] = {}
_LOCK = threading.RLock()


def owner_name(owner: Any) -> str:
    """``moto.ecs.models.Task`` for a class, ``moto.ssm.models`` for a module."""
    if isinstance(owner, ModuleType):
        return owner.__name__
    return f"{owner.__module__}.{owner.__qualname__}"


def registered() -> list[Patch]:
    """Every patch, in the order first registered."""
    with _LOCK:
        return list(_REGISTRY.values())


def install() -> None:
    """(Re)apply every registered patch: a no-op when all are in place."""
    with _LOCK:
        for record in _REGISTRY.values():
            _apply(record)


def original(owner: Any, attribute: str) -> Any:
    """moto's own ``owner.attribute``, whether it is patched or not."""
    with _LOCK:
        record = _REGISTRY.get((owner, attribute))
        return record.original if record else _moto_value(owner, attribute)


def wrap(owner: Any, attribute: str, *, why: str) -> Callable[[Callable[..., Any]], Any]:
    """Decorator: ``owner.attribute`` becomes the function, called with moto's original
    first (``function(original, self, ...)``). Returns the installed replacement."""
    by = _caller()

    def decorate(function: Callable[..., Any]) -> Any:
        with _LOCK:
            existing = _existing(owner, attribute, by, _site(function))
            if existing is not None:
                return existing.replacement
            moto_function = _moto_value(owner, attribute)
            if moto_function is MISSING:
                raise AttributeError(f"cannot wrap {_name(owner, attribute)}: moto has none")

            @functools.wraps(function)
            def replacement(*args: Any, **kwargs: Any) -> Any:
                return function(moto_function, *args, **kwargs)

            replacement.__wrapped__ = moto_function
            return _register(owner, attribute, replacement, WRAP, why, by,
                             _site(function), moto_function).replacement

    return decorate


def replace(owner: Any, attribute: str, *, why: str) -> Callable[[Callable[..., Any]], Any]:
    """Decorator: ``owner.attribute`` becomes the function (moto's is not called).
    Returns the installed replacement."""
    by = _caller()

    def decorate(function: Callable[..., Any]) -> Any:
        return _register_value(owner, attribute, function, REPLACE, why, by)

    return decorate


def patch(owner: Any, attribute: str, value: Any, *, why: str) -> Any:
    """``owner.attribute = value`` (a property, a dunder, ...), recorded. Returns what is
    installed."""
    return _register_value(owner, attribute, value, SET, why, _caller())


def add(owner: Any, attribute: str, value: Any, *, why: str) -> None:
    """Give ``owner`` an attribute moto does not define. If moto defines it (a newer moto),
    the patch is recorded but not applied, and the registry's test says it is obsolete."""
    _register_value(owner, attribute, value, ADD, why, _caller())


# --- internals ------------------------------------------------------------------------------


def _name(owner: Any, attribute: str) -> str:
    return f"{owner_name(owner)}.{attribute}"


def _caller() -> str:
    """The module that called the public function calling this."""
    return str(sys._getframe(2).f_globals.get("__name__", "?"))


def _site(value: Any) -> str:
    if isinstance(value, property) and value.fget is not None:
        return f"property({_site(value.fget)})"
    qualname = getattr(value, "__qualname__", None)
    if callable(value) and qualname:
        return f"{getattr(value, '__module__', '?')}.{qualname}"
    return repr(value)


def _moto_value(owner: Any, attribute: str) -> Any:
    """What moto has at ``owner.attribute``: the value itself unless it is one of ours (its
    record lost, e.g. this module reloaded), then the original that one recorded."""
    value = getattr(owner, attribute, MISSING)
    marked = getattr(value, _MARK, None) if callable(value) else None
    return marked.original if isinstance(marked, Patch) else value


def _existing(owner: Any, attribute: str, by: str, site: str) -> Patch | None:
    """The patch already registered for this attribute if it is this one (re-applied, in
    case something undid it); None if there is none; PatchConflict if it is another."""
    record = _REGISTRY.get((owner, attribute))
    if record is None:
        return None
    if record.by != by or record.site != site:
        raise PatchConflict(
            f"{record.target} is patched twice: by {record.by} ({record.site}) and by {by} "
            f"({site}). Make one patch that does both, in one module, so the result does not "
            "depend on which module is imported first.")
    _apply(record)
    return record


def _register_value(owner: Any, attribute: str, value: Any, kind: str, why: str,
                    by: str) -> Any:
    with _LOCK:
        existing = _existing(owner, attribute, by, _site(value))
        if existing is not None:
            return existing.replacement
        return _register(owner, attribute, value, kind, why, by, _site(value),
                         _moto_value(owner, attribute)).replacement


def _register(owner: Any, attribute: str, value: Any, kind: str, why: str, by: str,
              site: str, moto_value: Any) -> Patch:
    if not why or not why.strip():
        raise ValueError(f"the patch of {_name(owner, attribute)} needs a reason (why=...)")
    if kind in (REPLACE, SET) and moto_value is MISSING:
        raise AttributeError(f"cannot patch {_name(owner, attribute)}: moto has none "
                             "(patches.add gives moto an attribute it lacks)")
    record = Patch(owner, attribute, moto_value, value, kind, " ".join(why.split()), by, site)
    if callable(value) and not isinstance(value, type):
        with contextlib.suppress(AttributeError, TypeError):  # a builtin stays unmarked
            setattr(value, _MARK, record)
    _REGISTRY[(owner, attribute)] = record
    _apply(record)
    return record


def _apply(record: Patch) -> None:
    if record.kind == ADD and record.original is not MISSING:
        return  # moto has it now: never overwrite moto's own
    if not record.applied:
        setattr(record.owner, record.attribute, record.replacement)
