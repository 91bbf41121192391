"""The sandbox process: moto's WSGI app served on 127.0.0.1, with our corrections.

Run as ``python -m cloudkata.sandbox.server --port N --state-file F``. It writes its pid and
real port to the state file once it is listening (port 0 picks a free one) and removes the
file when it stops. Request logs and warnings are silenced so they never reach a learner's
terminal.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
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

    from . import fidelity
    from .control import Clock, ControlPlane
    from .control.clock import PACES
    from .control.wsgi import ControlMiddleware

    fidelity.apply_all()
    load_behaviours()
    plane = ControlPlane(Clock(PACES[pace]))
    return ControlMiddleware(DomainDispatcherApplication(create_backend_app), plane)


def load_behaviours() -> None:
    """Import every control-plane module so its reconcilers and hooks register."""
    import importlib
    import pkgutil

    from . import behaviours

    for module in pkgutil.iter_modules(behaviours.__path__):
        importlib.import_module(f"{behaviours.__name__}.{module.name}")


def serve(port: int, state_file: Path | None, pace: str = "real") -> None:
    _quiet()
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        def log(self, *args: Any, **kwargs: Any) -> None:  # no request lines on stderr
            return None

    server = make_server("127.0.0.1", port, make_app(pace), threaded=True,
                         request_handler=QuietHandler)
    real_port = server.server_address[1]

    def stop(*_: Any) -> None:
        if state_file:
            state_file.unlink(missing_ok=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if state_file:
        from ..atomic import write_json

        write_json(state_file, {"pid": os.getpid(), "port": real_port, "host": "127.0.0.1",
                                "started": time.time()})
    try:
        server.serve_forever()
    finally:
        stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="cloudkata's embedded AWS sandbox (moto)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-file", type=Path)
    parser.add_argument("--pace", choices=["real", "fast", "frozen"], default="real")
    args = parser.parse_args(argv)
    serve(args.port, args.state_file, args.pace)


if __name__ == "__main__":
    main(sys.argv[1:])
