"""The check registry: ``@check`` turns a small function into a named, validated check.

A duplicate id is an error at import time (checkov silently ignores them; we do not).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from .result import Result

if TYPE_CHECKING:
    from .session import ReadOnlyAws


class Params(BaseModel):
    """Base for check parameters: unknown keys in a lab file are an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    pass


CheckFunction = Callable[["ReadOnlyAws", Any], Result]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    params: type[Params]
    function: CheckFunction
    hint: str | None = None

    @property
    def service(self) -> str:
        return self.id.split(".", 1)[0]


class DuplicateCheckError(RuntimeError):
    pass


class UnknownCheckError(KeyError):
    def __str__(self) -> str:
        return f"No check is registered as {self.args[0]!r}."


_REGISTRY: dict[str, CheckSpec] = {}


def check(
    check_id: str, *, title: str, params: type[Params] = NoParams, hint: str | None = None
) -> Callable[[CheckFunction], CheckFunction]:
    """Register ``function`` as the check ``check_id`` (``service.what_it_judges``)."""

    def register(function: CheckFunction) -> CheckFunction:
        if check_id in _REGISTRY:
            raise DuplicateCheckError(
                f"Check id {check_id!r} is registered twice "
                f"({_REGISTRY[check_id].function.__module__} and {function.__module__})."
            )
        _REGISTRY[check_id] = CheckSpec(check_id, title, params, function, hint)
        return function

    return register


def get(check_id: str) -> CheckSpec:
    load_builtin_checks()
    try:
        return _REGISTRY[check_id]
    except KeyError:
        raise UnknownCheckError(check_id) from None


def all_checks() -> dict[str, CheckSpec]:
    load_builtin_checks()
    return dict(_REGISTRY)


_CORE_MODULES = frozenset({"registry", "result", "session", "errors", "policy"})


def load_builtin_checks() -> None:
    """Import every service module of this package so its checks register (idempotent)."""
    import importlib
    import pkgutil

    package = __name__.rsplit(".", 1)[0]
    for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if module.name not in _CORE_MODULES and not module.name.startswith("_"):
            importlib.import_module(f"{package}.{module.name}")
