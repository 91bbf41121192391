"""Access to moto's in-process backends without waking the ones nobody uses.

Touching a moto ``BackendDict`` entry creates it (ECS/EC2 take ~0.9 s the first time), so the
control plane only ever looks at (account, region) backends that a request already created.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

DEFAULT_ACCOUNT = "123456789012"


def loaded(service: str) -> Iterator[tuple[str, str, Any]]:
    """(account, region, backend) for every backend of ``service`` that exists already."""
    from moto.backends import get_backend

    try:
        backend_dict = get_backend(service)
    except (KeyError, ValueError):
        return
    for account_id in list(dict.keys(backend_dict)):
        account = dict.__getitem__(backend_dict, account_id)
        for region in list(dict.keys(account)):
            yield account_id, region, dict.__getitem__(account, region)


def backend(service: str, account_id: str, region: str) -> Any:
    """The backend for this account and region, created if needed (as a request would)."""
    from moto.backends import get_backend

    return get_backend(service)[account_id][region]


def find(service: str, account_id: str, region: str) -> Any | None:
    """The backend if it exists already, else None (never creates one)."""
    for acct, reg, found in loaded(service):
        if acct == account_id and reg == region:
            return found
    return None
