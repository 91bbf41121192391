"""The sandbox process: moto's WSGI app served on 127.0.0.1, with our corrections.

Run as ``python -m cloudkata.sandbox.server --port N --state-file F``. It writes its pid and
real port to the state file once it is listening (port 0 picks a free one) and removes the
file when it stops. Request logs and warnings are silenced so they never reach a learner's
terminal.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from .control.wsgi import HEALTH_PATH, IDENTITY  # noqa: F401  (re-exported)


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    for name in ("werkzeug", "moto", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)


def make_app(pace: str = "real") -> Any:
    """moto's dispatcher behind our control plane (reconcilers, extra APIs, clock)."""
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from . import fidelity, transfer  # noqa: F401  (transfer registers export/import)
    from .control import Clock, ControlPlane
    from .control.clock import PACES
    from .control.wsgi import ControlMiddleware

    fidelity.apply_all()
    load_behaviours()
    plane = ControlPlane(Clock(PACES[pace]))
    def backend_app(service: str) -> Any:
        # moto's Flask apps answer a crash with an HTML page the aws CLI cannot parse; let
        # the exception reach ControlMiddleware, which answers AWS's InternalFailure instead
        app = create_backend_app(service)
        app.config["PROPAGATE_EXCEPTIONS"] = True
        return app

    return ControlMiddleware(DomainDispatcherApplication(backend_app), plane)


def load_behaviours() -> None:
    """Import every control-plane module so its reconcilers and hooks register."""
    import importlib
    import pkgutil

    from . import behaviours

    for module in pkgutil.iter_modules(behaviours.__path__):
        importlib.import_module(f"{behaviours.__name__}.{module.name}")


SAVE_EVERY = 0.5  # real seconds between checks for unsaved changes


def serve(port: int, state_file: Path | None, pace: str = "real",
          snapshot_file: Path | None = None) -> None:
    _quiet()
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from . import persistence

    class QuietHandler(MotoRequestHandler):
        def log(self, *args: Any, **kwargs: Any) -> None:  # no request lines on stderr
            return None

    app = make_app(pace)
    if snapshot_file:
        app.warning = persistence.load_file(app.plane, snapshot_file)
        if app.warning:
            logging.getLogger("cloudkata.sandbox").error(app.warning)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
    real_port = server.server_address[1]
    app.port = real_port
    stopping = threading.Event()
    saving = threading.Lock()  # a stop waits for a save in flight instead of cutting it off

    def save_when_changed() -> None:
        """Debounced saving: a crash loses at most the last half second of changes."""
        while not stopping.wait(SAVE_EVERY):
            if app.plane.dirty and snapshot_file:
                with saving:
                    try:
                        persistence.save(app.plane, snapshot_file)
                    except Exception:  # noqa: BLE001 - keep serving; the log says why
                        logging.getLogger("cloudkata.sandbox").exception("saving failed")

    def stop(*_: Any) -> None:
        stopping.set()
        if snapshot_file:
            _save_at_stop(app.plane, snapshot_file, saving)
        if state_file:
            state_file.unlink(missing_ok=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=save_when_changed, daemon=True, name="saver").start()
    if state_file:
        from ..atomic import write_json

        # mkstemp makes it 0600: the token in it is the key to the control routes
        write_json(state_file, {"pid": os.getpid(), "port": real_port, "host": "127.0.0.1",
                                "started": time.time(), "token": app.token})
    # Everything loaded so far (moto's modules and models, the restored state) lives as long
    # as the process: keep it out of the collector's full passes, which otherwise walk it all.
    gc.freeze()
    try:
        server.serve_forever()
    finally:
        stop()


STOP_SAVE_TIMEOUT = 3.0


def _save_at_stop(plane: Any, snapshot_file: Path, saving: threading.Lock) -> None:
    """Always save at stop (cheap, and no dirty flag to race with), but never hang on it.

    A save in flight is waited for; a request stuck holding the plane's lock is not: the
    process must end when asked, so after a few seconds it ends without this last save.
    """
    from . import persistence

    logger = logging.getLogger("cloudkata.sandbox")
    if not saving.acquire(timeout=STOP_SAVE_TIMEOUT):
        logger.error("stop: a save in flight did not finish; the last changes are not saved")
        return
    try:
        if not plane.lock.acquire(timeout=STOP_SAVE_TIMEOUT):
            logger.error("stop: the sandbox was busy; the last changes are not saved")
            return
        try:
            persistence.save(plane, snapshot_file)
        except Exception:  # noqa: BLE001
            logger.exception("saving at stop failed")
        finally:
            plane.lock.release()
    finally:
        saving.release()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="cloudkata's embedded AWS sandbox (moto)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-file", type=Path, help="where to write pid and port")
    parser.add_argument("--snapshot", type=Path, help="sandbox state, restored and kept saved")
    parser.add_argument("--pace", choices=["real", "fast", "frozen"], default="real")
    args = parser.parse_args(argv)
    serve(args.port, args.state_file, args.pace, args.snapshot)


if __name__ == "__main__":
    main(sys.argv[1:])
