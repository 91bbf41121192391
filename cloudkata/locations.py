"""Every path cloudkata reads or writes, in one place.

``CLOUDKATA_HOME`` moves all of them under one folder (tests, classrooms, a USB stick);
otherwise they follow platformdirs' conventions for the user's data and runtime folders.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import platformdirs

APP = "cloudkata"


def _home() -> Path | None:
    value = os.environ.get("CLOUDKATA_HOME")
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """Progress, workspaces and sandbox state: kept between sessions."""
    home = _home()
    path = home / "data" if home else Path(platformdirs.user_data_dir(APP))
    path.mkdir(parents=True, exist_ok=True)
    return path


def runtime_dir() -> Path:
    """The sandbox's pid/port file and log: meaningful only while the machine is up."""
    home = _home()
    if home:
        path = home / "run"
    else:
        with warnings.catch_warnings():  # no XDG_RUNTIME_DIR: platformdirs falls back, loudly
            warnings.simplefilter("ignore")
            path = Path(platformdirs.user_runtime_dir(APP))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:  # e.g. no /run/user/<uid> on a minimal container
        path = data_dir() / "run"
        path.mkdir(parents=True, exist_ok=True)
    return path


def workspace_dir(lab_id: str) -> Path:
    """The lab's working folder: starter JSON files live here, commands run here."""
    path = data_dir() / "workspaces" / lab_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def progress_file() -> Path:
    return data_dir() / "progress.json"


def sandbox_state_file() -> Path:
    return runtime_dir() / "sandbox.json"


def sandbox_log_file() -> Path:
    return runtime_dir() / "sandbox.log"


def sandbox_snapshot_file() -> Path:
    """The sandbox's resources, saved as they change, restored when it starts again."""
    return data_dir() / "sandbox" / "state.bin"
