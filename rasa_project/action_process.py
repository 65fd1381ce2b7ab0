"""The rasa-sdk action server as a child process: started, proven ours, supervised.

The child is `rasa_project.action_server`; this side starts it with a fresh secret,
waits for its signed /health and, when supervised, restarts it when it dies or hangs.
"""

from __future__ import annotations

import functools
import http.client
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, TypeVar

from ldn_bot import action_auth
from ldn_bot.ports import PortInUse, check_port_free, free_port
from ldn_bot.settings import Settings

logger = logging.getLogger(__name__)

_Server = TypeVar("_Server", bound="ActionServer")

_PR_SET_PDEATHSIG = 1


@functools.lru_cache(maxsize=1)
def _libc() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _end_with_parent() -> None:
    """In the child, before exec: SIGKILL when the parent thread dies (Linux), even by
    SIGKILL. Not SIGTERM: a child whose event loop is stuck never runs a SIGTERM handler
    (an action server left spinning by a hostile request outlived its parent that way), and
    with the parent gone nobody waits for a graceful stop. Only a call into the C library
    loaded beforehand: nothing here takes a lock."""
    if sys.platform.startswith("linux"):
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class ActionServer:
    """The rasa-sdk action server as a child process, stopped when done.

    Each instance has its own random secret (`ldn_bot.action_auth`): the child gets it by
    environment, Rasa's endpoint signs its calls with it, and the child counts as up only
    when it answers /health signed with it, so a foreign program on the port is never
    taken for it. The child ends when this process does, also when it is killed.
    """

    def __init__(self, cfg: Settings, *, port: int | None = None) -> None:
        self.cfg = cfg
        self.port = port or free_port()
        self.secret = action_auth.new_secret()
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()  # set by `stop()` from another thread

    @property
    def url(self) -> str:
        """Rasa's action endpoint for this server."""
        return f"http://127.0.0.1:{self.port}/webhook"

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def _log_path(self) -> Path:
        log_dir = self.cfg.var_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        return log_dir / "actions.log"

    def start(self, *, timeout: float = 60.0) -> None:
        """Start the child and wait until it proves it is up.

        Raises `PortInUse` when another program holds the port, `RuntimeError` when the
        child exits or does not come up within `timeout`.
        """
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(self.cfg.root), os.environ.get("PYTHONPATH")])
            ),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            # Rasa reuses its connections to the action server; Sanic's default 5 s
            # keep-alive lets the server close one just as Rasa sends on it (a lost
            # action call). Keep them open longer than Rasa leaves them idle.
            "SANIC_KEEP_ALIVE_TIMEOUT": "75",
            # Stopped last, once Rasa has closed its connections: nothing to wait for.
            "SANIC_GRACEFUL_SHUTDOWN_TIMEOUT": "3",
            action_auth.SECRET_ENV: self.secret,
            "LDN_BOT_PARENT_PID": str(os.getpid()),
        }
        log_path = self._log_path()
        if sys.platform.startswith("linux"):
            _libc()  # loaded here, not between fork and exec
        with open(log_path, "ab") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "rasa_project.action_server",
                    "--actions",
                    "actions",
                    "--port",
                    str(self.port),
                ],
                cwd=self.cfg.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Never written: its end-of-file tells the child that this process is gone.
                stdin=subprocess.PIPE,
                preexec_fn=_end_with_parent,
                # Its own session: Ctrl-C in a terminal reaches serve only, which stops
                # it last, after the requests in flight (they may still call it).
                start_new_session=True,
            )
        process = self._process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stopping.is_set():
            code = process.poll()
            if code == action_auth.EXIT_PORT_IN_USE:
                self._close(process)
                raise PortInUse(self.port, "--action-port")
            if code is not None:
                self._close(process)
                raise RuntimeError(f"the action server exited (code {code}); see {log_path}")
            if self.answers_as_ours():
                return
            time.sleep(0.2)
        stopped = self._stopping.is_set()
        ActionServer.stop(self)
        if stopped:
            raise RuntimeError("the action server was stopped while starting")
        raise RuntimeError(f"the action server did not start within {timeout:.0f} s")

    def answers_as_ours(self, timeout: float = 1.0) -> bool:
        """Whether /health on the port is answered within `timeout` seconds, signed with
        this server's secret (under the health label: `action_auth.health_mac`)."""
        nonce = action_auth.new_nonce()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/health", headers={action_auth.NONCE_HEADER: nonce}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                body = reply.read(64 * 1024)
                mac = reply.headers.get(action_auth.RESPONSE_MAC_HEADER)
        except (OSError, ValueError, http.client.HTTPException):
            return False
        return action_auth.valid_health(self.secret, nonce, mac, body)

    @staticmethod
    def _close(process: subprocess.Popen[bytes]) -> None:
        if process.stdin is not None:
            process.stdin.close()

    def stop(self, timeout: float = 5.0) -> None:
        """End the child (SIGTERM, then SIGKILL after `timeout` seconds)."""
        process = self._process
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self._close(process)
        self._process = None

    def __enter__(self: _Server) -> _Server:
        """Start it (see `start`)."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop it."""
        self.stop()


class SupervisedActionServer(ActionServer):
    """An action server that is kept alive, and answering, until stopped.

    It watches its own child process (not a URL): a child that exits is restarted, and
    one that stops answering its signed /health (`health_failures` checks in a row, each
    `health_every` seconds with a `health_timeout`; a hung event loop, a frozen process)
    is killed (SIGKILL) and restarted. The first start is `start()`'s, and its failure is
    the caller's (serve stops). After that the supervisor never gives up: while the child
    cannot be started (it keeps dying, another program holds the port) serve runs degraded
    (`status()`: the safety replies are rules and keep working, article questions get
    "I can't answer that right now"), and the start is retried with a growing delay
    (`backoff`, doubled up to `max_backoff`). The cause is logged once per outage.
    """

    def __init__(
        self,
        cfg: Settings,
        *,
        port: int | None = None,
        check_every: float = 0.2,
        health_every: float = 2.0,
        health_timeout: float = 2.0,
        health_failures: int = 3,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
    ) -> None:
        super().__init__(cfg, port=port)
        self.check_every = check_every
        self.health_every = health_every
        self.health_timeout = health_timeout
        self.health_failures = health_failures
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.restarts = 0  # start attempts after the first start
        self.hung = 0  # children killed for not answering their health check
        self.outages = 0
        self._lock = threading.Lock()
        self._down_since: float | None = None  # wall clock, while unavailable
        self._last_error: str | None = None
        self._watcher: threading.Thread | None = None

    def start(self, *, timeout: float = 60.0) -> None:
        """Start the child (its failure is the caller's), then watch it."""
        super().start(timeout=timeout)
        self._stopping.clear()
        self._watcher = threading.Thread(
            target=self._watch, name="action-server-watch", daemon=True
        )
        self._watcher.start()

    def status(self) -> dict[str, Any]:
        """What /health says of the action server: available, since when not, and why."""
        with self._lock:
            since = self._down_since
            return {
                "available": since is None,
                "since": _iso(since) if since is not None else None,
                "last_error": self._last_error,
                "restarts": self.restarts,
            }

    @property
    def available(self) -> bool:
        """Whether the child is up (no outage now)."""
        return self._down_since is None

    def _watch(self) -> None:
        # The children started here get PR_SET_PDEATHSIG from this thread: it lives as
        # long as the supervisor, and they are stopped with it.
        missed = 0
        next_check = time.monotonic() + self.health_every
        while not self._stopping.wait(self.check_every):
            process = self._process
            if process is None:
                continue
            if process.poll() is not None:
                self._close(process)
                self._restore(f"the action server exited (code {process.returncode})")
                missed, next_check = 0, time.monotonic() + self.health_every
                continue
            if time.monotonic() < next_check:
                continue
            if self.answers_as_ours(timeout=self.health_timeout):
                missed = 0
            else:
                missed += 1
            next_check = time.monotonic() + self.health_every
            if missed >= self.health_failures and not self._stopping.is_set():
                self.hung += 1
                process.kill()  # SIGKILL: a hung or frozen (SIGSTOP) process ends too
                process.wait()
                self._close(process)
                self._restore(
                    f"the action server did not answer its health check {missed} times "
                    "in a row (hung); killed it"
                )
                missed, next_check = 0, time.monotonic() + self.health_every

    def _restore(self, cause: str) -> None:
        """Start the child again, retrying with backoff until it is up or we stop."""
        self._outage(cause)
        delay = self.backoff
        while not self._stopping.is_set():
            self.restarts += 1
            try:
                check_port_free(self.port, option="--action-port")
                ActionServer.start(self)
            except RuntimeError as error:
                if self._stopping.is_set():
                    return
                why = str(error)
                if isinstance(error, PortInUse):
                    why = f"port {error.port} is in use by another program"
                self._outage(why)
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, self.max_backoff)
                continue
            with self._lock:
                since, self._down_since = self._down_since, None
            took = time.time() - since if since is not None else 0.0
            logger.warning("action server is back after %.1f s (restart %d)", took, self.restarts)
            return

    def _outage(self, cause: str) -> None:
        """Note the cause; log it when it is news (once per outage, not every retry)."""
        with self._lock:
            new = self._down_since is None
            if new:
                self._down_since = time.time()
                self.outages += 1
            changed = cause != self._last_error
            self._last_error = cause
        if new:
            logger.error(
                "action server unavailable: %s; serving degraded (article questions get "
                '"I can\'t answer that right now") and retrying',
                cause,
            )
        elif changed:
            logger.error("action server still unavailable: %s; retrying", cause)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop supervising, then stop the child."""
        self._stopping.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=10)
        super().stop(timeout)


def _iso(wall: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))
