"""`python -m rasa_project.action_server`: rasa-sdk's action server, lean and locked down.

spaCy's thinc imports TensorFlow and JAX whenever they are installed (Rasa installs
TensorFlow), which costs the action server some 370 MB and seconds of start-up for code
it never runs: the actions use spaCy's tokenizer and lookup tables only. Blocking those
imports in `main()` (before the actions are imported) keeps them out of this process, and
only this one.

Unlike rasa-sdk's `run()` (every interface, no authentication, 100 MB bodies), this server:
- listens on 127.0.0.1 only, on a socket it binds itself: a port another program holds
  ends it at once with `EXIT_PORT_IN_USE` and one clear line;
- refuses (401) every call but `/health` that is not signed with the secret of
  `LDN_BOT_ACTION_SECRET` (`ldn_bot.action_auth`), and signs every answer to a signed
  call or a `/health` carrying a nonce (that one under a label of its own, so it is no
  signing oracle for action answers): that is how its parent knows it is its own;
- refuses bodies over `MAX_ACTION_BODY_BYTES` (413), and with 400 (connection closed)
  a negative, doubled or non-decimal `Content-Length` and the other ambiguous framings
  of `ldn_bot.http_framing` (one `Content-Length: -1` used to hang it for good);
- ends when its parent does: the parent holds the write end of its stdin pipe, so
  end-of-file there means the parent is gone (also after SIGKILL), and the parent pid is
  checked too (Linux also sends SIGKILL through `PR_SET_PDEATHSIG`, set by the parent).

Logging is the project's (`ldn_bot.logs`: one line per record, input escaped) instead of
rasa-sdk's coloured console set-up.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import stat
import sys
import threading
import time

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app, create_argument_parser
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from ldn_bot import action_auth
from ldn_bot.http_framing import refuse_ambiguous_framing
from ldn_bot.logs import configure_logging

# Installed but never used by the actions (spaCy's thinc imports them when present).
UNUSED_FRAMEWORKS = ("tensorflow", "jax", "torch", "mxnet", "cupy")

HOST = "127.0.0.1"
OPEN_PATHS = frozenset({"/health"})


def secure(app: Sanic, secret: str) -> Sanic:
    """Require signed calls, sign the answers, cap the body size, refuse requests whose
    body framing is ambiguous (`ldn_bot.http_framing`: 400 before any body is read)."""
    app.config.REQUEST_MAX_SIZE = action_auth.MAX_ACTION_BODY_BYTES
    refuse_ambiguous_framing(app)

    @app.middleware("request")
    async def require_signature(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        # Sanic stops reading at REQUEST_MAX_SIZE but still runs the middleware (with the
        # body cut short): say 413, not 401.
        length = request.headers.get("Content-Length", "0")
        too_long = not length.isdigit() or int(length) > action_auth.MAX_ACTION_BODY_BYTES
        if too_long or len(request.body or b"") > action_auth.MAX_ACTION_BODY_BYTES:
            if request.stream is not None:
                request.stream.keep_alive = False
            return response.json({"error": "request body too large"}, status=413)
        if not action_auth.valid_request(
            secret,
            request.headers.get(action_auth.NONCE_HEADER),
            request.headers.get(action_auth.REQUEST_MAC_HEADER),
            request.body or b"",
        ):
            return response.json({"error": "unauthorized"}, status=401)
        return None

    @app.exception(SanicException)
    async def http_error(_: Request, error: SanicException) -> HTTPResponse:
        """An HTTP error keeps its status (400 for a refused head, 404, 413): rasa-sdk's
        handler answers every exception 500, with a traceback in the log."""
        return response.json({"error": str(error)}, status=error.status_code)

    @app.middleware("response")
    async def sign(request: Request, answer: HTTPResponse) -> None:
        nonce = request.headers.get(action_auth.NONCE_HEADER)
        if not nonce or answer.status == 401:
            return
        # /health is open: its signature has its own label (`action_auth.health_mac`), so
        # it is never a valid action answer, whatever nonce the caller chose.
        mac = action_auth.health_mac if request.path in OPEN_PATHS else action_auth.response_mac
        answer.headers[action_auth.RESPONSE_MAC_HEADER] = mac(secret, nonce, answer.body or b"")

    return app


def listening_socket(port: int) -> socket.socket:
    """127.0.0.1:`port`, bound; exits with `EXIT_PORT_IN_USE` when another program has it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as error:
        sock.close()
        if error.errno != errno.EADDRINUSE:
            raise
        print(f"action server: port {port} is in use by another program", file=sys.stderr)
        sys.exit(action_auth.EXIT_PORT_IN_USE)
    return sock


def end_with_parent(parent: int) -> None:
    """SIGTERM this process (a graceful stop) once its parent is gone."""

    def stop() -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    def watch_stdin() -> None:
        while os.read(0, 4096):
            pass
        stop()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        stop()

    if stat.S_ISFIFO(os.fstat(0).st_mode):
        threading.Thread(target=watch_stdin, name="parent-pipe", daemon=True).start()
    threading.Thread(target=watch_parent, name="parent-pid", daemon=True).start()


def main() -> None:
    """Serve the actions until the parent goes or SIGTERM comes."""
    for name in UNUSED_FRAMEWORKS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    os.umask(0o077)  # what it writes (logs) is its user's only, like `ldn-bot` (cli.main)
    args = create_argument_parser().parse_args()
    configure_logging(args.loglevel)
    utils.update_sanic_log_level()
    secret = os.environ.pop(action_auth.SECRET_ENV, "")
    if not secret:
        print(f"action server: {action_auth.SECRET_ENV} is not set", file=sys.stderr)
        sys.exit(2)
    parent = int(os.environ.get("LDN_BOT_PARENT_PID") or os.getppid())
    if os.getppid() != parent:
        sys.exit(0)  # the parent died before we got here
    sock = listening_socket(args.port)
    app = secure(create_app(args.actions, cors_origins="", auto_reload=False), secret)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    end_with_parent(parent)
    app.run(sock=sock, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
