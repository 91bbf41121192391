"""The sandbox process: moto's WSGI app served on 127.0.0.1, with our corrections.

Run as ``python -m cloudkata.sandbox.server --port N --state-file F``. It writes its pid and
real port to the state file once it is listening (port 0 picks a free one) and removes the
file when it stops. Request logs and warnings are silenced so they never reach a learner's
terminal.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import Any

HEALTH_PATH = "/cloudkata/health"
IDENTITY = "cloudkata-sandbox"


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    for name in ("werkzeug", "moto", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)


def make_app() -> Any:
    """moto's dispatcher wrapped in our own routes (health now; more control plane later)."""
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from . import fidelity

    fidelity.apply_all()
    moto_app = DomainDispatcherApplication(create_backend_app)
    started = time.time()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            body = json.dumps({"name": IDENTITY, "pid": os.getpid(), "started": started})
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body.encode()]
        return moto_app(environ, start_response)

    return app


def serve(port: int, state_file: Path | None) -> None:
    _quiet()
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        def log(self, *args: Any, **kwargs: Any) -> None:  # no request lines on stderr
            return None

    server = make_server("127.0.0.1", port, make_app(), threaded=True,
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
    args = parser.parse_args(argv)
    serve(args.port, args.state_file)


if __name__ == "__main__":
    main(sys.argv[1:])
