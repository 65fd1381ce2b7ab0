"""Running the assistant in-process: model (trained when missing), action server, agent.

This is the one module of `ldn_bot` that drives Rasa, and it does so only
through Rasa's public entry points (`rasa.api.train`, `load_agent`); the
guard and the answers stay in the framework-free core.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import errno
import functools
import hashlib
import http.client
import io
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Before Rasa (and TensorFlow) are imported: no telemetry, no chatter.
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("LOG_LEVEL_LIBRARIES", "ERROR")
# One thread per TensorFlow op pool: DIET without transformer layers runs tiny ops, where
# thread hand-offs cost more than they save, and the event loop is single-threaded anyway.
os.environ.setdefault("TF_INTER_OP_PARALLELISM_THREADS", "1")
os.environ.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", "1")


def _silence_warnings() -> None:
    """Rasa resets the warning filters on import; its deprecation chatter is not for users."""
    if not os.environ.get("LDN_BOT_DEBUG"):
        warnings.simplefilter("ignore")


_silence_warnings()

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage  # noqa: E402

_silence_warnings()  # again: importing TensorFlow (above) resets the filters

from ldn_bot import action_auth  # noqa: E402
from ldn_bot.payloads import as_sent, button_payloads  # noqa: E402
from ldn_bot.routing import Route, response_name, route_for  # noqa: E402
from ldn_bot.settings import Settings  # noqa: E402
from rasa_project import patches  # noqa: E402

patches.apply()

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

# Files whose content decides the trained model: change one and it retrains.
_MODEL_INPUTS = (
    "config.yml",
    "domain.yml",
    "rasa_project/nlu.py",
    "src/ldn_bot/nlp.py",
    "src/ldn_bot/guard/normalize.py",
    "src/ldn_bot/guard/rules/glossary.yml",
    "src/ldn_bot/guard/rules/normalize.yml",
    "src/ldn_bot/guard/rules/vocabulary.yml",
    "src/ldn_bot/knowledge/scope.yml",
)


def quiet_rasa() -> None:
    """Keep Rasa's and TensorFlow's logs to errors (`LDN_BOT_LOG_LEVEL=DEBUG` shows all)."""
    from rasa.utils.log_utils import configure_structlog

    from ldn_bot.logs import log_level

    level = log_level()
    libraries = level if level <= logging.INFO else logging.ERROR
    for name in ("rasa", "tensorflow", "absl", "sanic", "asyncio", "apscheduler"):
        logging.getLogger(name).setLevel(libraries)
    configure_structlog(level)
    _silence_warnings()


def model_fingerprint(cfg: Settings) -> str:
    """A short hash of everything training depends on."""
    digest = hashlib.sha256()
    paths = [cfg.root / name for name in _MODEL_INPUTS] + list(cfg.training_files)
    for path in sorted(paths):
        digest.update(path.relative_to(cfg.root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def model_path(cfg: Settings) -> Path:
    return cfg.models_dir / f"ldn-bot-{model_fingerprint(cfg)}.tar.gz"


def ensure_model(cfg: Settings, progress: Progress = lambda _msg: None) -> Path:
    """The trained model for the current data and config, training it if missing.

    Training is reused while the inputs are unchanged (the file name carries
    their fingerprint). Training output goes to stderr, never stdout.
    """
    path = model_path(cfg)
    if path.exists():
        return path
    quiet_rasa()
    progress("Training the model for the current data and config (about a minute)...")
    from rasa.api import train

    cfg.models_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # Rasa's own output (its tqdm bars: "Processed rules/trackers/actions", hundreds of
    # updates, and its green "model is trained" line) is kept back: one line of ours
    # says it, and Rasa's is shown only when training fails (or with LDN_BOT_DEBUG).
    verbose = bool(os.environ.get("LDN_BOT_DEBUG"))
    captured = io.StringIO()
    with _training_output(verbose, captured):
        result = train(
            domain=str(cfg.domain_path),
            config=str(cfg.config_path),
            training_files=[str(p) for p in cfg.training_files],
            output=str(cfg.models_dir),
            fixed_model_name=path.name.removesuffix(".tar.gz"),
        )
    if result.code != 0 or not path.exists():
        sys.stderr.write(captured.getvalue()[-5000:])
        raise RuntimeError(f"training failed (code {result.code}); run `make train` to see why")
    progress(f"Model trained in {time.monotonic() - started:.0f} s: {path.name}")
    return path


@contextlib.contextmanager
def _training_output(verbose: bool, captured: io.StringIO) -> Iterator[None]:
    """Rasa's training chatter: to stderr when `verbose`, else into `captured`.

    Rasa's tqdm bars are off while its `LOG_LEVEL` says WARNING (`rasa.shared.utils.io.
    is_logging_disabled`, read at each bar), and `TQDM_DISABLE` switches off any other.
    """
    if verbose:
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    saved = {name: os.environ.get(name) for name in ("LOG_LEVEL", "TQDM_DISABLE")}
    os.environ.update(LOG_LEVEL="WARNING", TQDM_DISABLE="1")
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PortInUse(RuntimeError):
    """A port serve needs is held by another program."""

    def __init__(self, port: int, option: str) -> None:
        super().__init__(f"port {port} is in use by another program: choose {option} or stop it")
        self.port = port


def check_port_free(port: int, *, host: str = "127.0.0.1", option: str = "--port") -> None:
    """Raise `PortInUse` when another program listens on `host:port`.

    With SO_REUSEADDR, as the servers bind: connections of a previous run left in
    TIME_WAIT do not count, a listening socket does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(port, option) from None
            raise


def listening_socket(host: str, port: int) -> socket.socket:
    """`host:port` bound for a server to listen on; `PortInUse` when another program has it.

    Binding here, before anything heavy loads, leaves no moment for another program to
    take the port between the check and the server's start.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(port, "--port") from None
        raise
    return sock


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
        return f"http://127.0.0.1:{self.port}/webhook"

    @property
    def pid(self) -> int | None:
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
                    "ldn_bot.action_server",
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

    def __enter__(self) -> ActionServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
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
        self._stopping.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=10)
        super().stop(timeout)


def _iso(wall: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))


_NOT_JSON = {"not_json": True}


@dataclass(frozen=True)
class TurnResult:
    """One question and everything the assistant sent back (the `ask --json` object)."""

    question: str
    replies: list[str]
    route: str
    intent: str | None
    confidence: float | None
    citations: list[str]
    guard_rule: str | None = None  # the guard rule that decided, if one did
    guard_source: str | None = None  # message | window | context (`ldn_bot.guard.conversation`)
    # For the terminal, not in `ask --json`: each reply's response name (parallel to
    # `replies`) and the quick replies offered, as (title, payload).
    responses: tuple[str, ...] = dataclasses.field(default=(), metadata=_NOT_JSON)
    buttons: tuple[tuple[str, str], ...] = dataclasses.field(default=(), metadata=_NOT_JSON)

    def as_json(self) -> dict[str, Any]:
        return {
            field.name: copy.deepcopy(getattr(self, field.name))
            for field in dataclasses.fields(self)
            if not field.metadata.get("not_json")
        }

    def shown(self, *, without: frozenset[str] = frozenset()) -> list[str]:
        """The replies, without those of the responses named in `without`."""
        names = self.responses or ("",) * len(self.replies)
        return [text for text, name in zip(self.replies, names, strict=True) if name not in without]


class Assistant:
    """The trained model loaded in-process (a Rasa `Agent`), one turn at a time."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent

    @classmethod
    async def load(
        cls, cfg: Settings, model: Path, *, action_url: str, action_secret: str | None = None
    ) -> Assistant:
        quiet_rasa()
        from rasa.core.agent import load_agent

        agent = await load_agent(
            model_path=str(model), endpoints=endpoints(cfg, action_url, action_secret)
        )
        if agent is None or not agent.is_ready():
            raise RuntimeError(f"could not load the model {model}")
        return cls(agent)

    async def ask(self, text: str, sender_id: str) -> TurnResult:
        """Send one message and collect the turn's replies, route, intent and citations."""
        from rasa_project.tracker_store import ledger_store

        channel = RecordingOutputChannel()
        # As on every served channel (`rasa_project.web`): a typed `/intent` that is not one
        # of our buttons' payloads is read as words (`/back` rewound the conversation).
        sent = as_sent(text, self.payloads)
        await self.agent.handle_message(UserMessage(sent, channel, sender_id, input_channel="cli"))
        store = ledger_store(self.agent)
        record = store.latest_turn(sender_id) if store is not None else None
        citations: list[str] = []
        for message in channel.sent:
            for unit in message.get("citations") or []:
                if unit not in citations:
                    citations.append(unit)
        route = route_for(response_name(message) for message in channel.sent)
        with_text = [message for message in channel.sent if message.get("text")]
        return TurnResult(
            question=text,
            replies=[message["text"] for message in with_text],
            route=route.value,
            intent=record.intent if record else None,
            confidence=_confidence(record.confidence) if record else None,
            citations=citations if route is Route.ARTICLE_ANSWER else [],
            guard_rule=record.guard_rule if record else None,
            guard_source=record.guard_source if record else None,
            responses=tuple(response_name(message) for message in with_text),
            buttons=tuple(_buttons(channel.sent)),
        )

    @functools.cached_property
    def payloads(self) -> frozenset[str]:
        """The `/` payloads of our buttons, which a message may send as they are."""
        domain = self.agent.domain
        return button_payloads(domain.responses if domain is not None else {})


def _buttons(sent: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """The (title, payload) of each quick reply offered in a turn's messages."""
    for message in sent:
        for button in message.get("buttons") or message.get("quick_replies") or ():
            if isinstance(button, dict):
                title, payload = button.get("title"), button.get("payload")
                if isinstance(title, str) and isinstance(payload, str):
                    yield title, payload


class RecordingOutputChannel(CollectingOutputChannel):
    """Keeps every message as Rasa sent it, metadata (response name, citations) included."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.sent.append(dict(message))
        await super().send_response(recipient_id, message)


def endpoints(cfg: Settings, action_url: str, action_secret: str | None = None) -> Any:
    """`rasa_project/endpoints.yml` with this run's action server, database and Redis.

    With `action_secret` (the action server's), every action call is signed and every
    answer that is not signed with it is refused.
    """
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.endpoints import EndpointConfig

    from rasa_project.action_endpoint import PooledEndpointConfig

    result = AvailableEndpoints.read_endpoints(str(cfg.endpoints_path))
    result.action = PooledEndpointConfig(url=action_url, secret=action_secret)
    store = result.tracker_store
    if store is not None and store.type and store.type.endswith("LedgerTrackerStore"):
        if cfg.database_url:
            result.tracker_store = EndpointConfig(url=cfg.database_url, type=store.type)
        else:
            cfg.var_dir.mkdir(parents=True, exist_ok=True)
            store.kwargs["db"] = str(cfg.tracker_db)
    if cfg.redis_url:
        result.lock_store = EndpointConfig(type="redis", **redis_lock_store(cfg.redis_url))
    return result


def redis_lock_store(url: str) -> dict[str, Any]:
    """`redis://[:password@]host[:port][/db]` as the settings of Rasa's `RedisLockStore`."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        raise RuntimeError(f"LDN_BOT_REDIS_URL should look like redis://host:6379/0, not {url!r}")
    return {
        "url": parts.hostname,
        "port": parts.port or 6379,
        "db": int(parts.path.strip("/") or 0),
        "password": parts.password,
        "use_ssl": parts.scheme == "rediss",
        "key_prefix": "ldn_bot",
    }


async def close_action_endpoint(agent: Any) -> None:
    """Close the action server's connection pool (at exit, before the loop closes)."""
    close = getattr(getattr(agent, "action_endpoint", None), "close", None)
    if close is not None:
        await close()


def flush_ledger(agent: Any, timeout: float = 10.0) -> None:
    """Wait for the ledger rows of the turns handled so far, and try once more to write
    the conversation events kept in memory during a database outage (at exit)."""
    from rasa_project.tracker_store import ledger_store

    store = ledger_store(agent)
    if store is None:
        return
    if not store.ledger_writer.flush(timeout):
        logger.error("ledger: some turns were still pending at exit")
    waiting = store.health().pending_events
    if waiting and not store.write_waiting(timeout):
        logger.error("conversations: %s events could not be written at exit", waiting)


def close_stores_at_exit(agent: Any, timeout: float = 4.0) -> None:
    """At serve's exit: write the pending ledger rows and the conversation events kept in
    memory, within about `timeout` seconds in all, even with the database locked; what
    cannot be written goes to the quarantine file (`LedgerTrackerStore.close`).

    A third of the budget for the ledger rows to land (the rest are kept), then one write
    attempt for the waiting events (SQLite gives up on a locked database after its 2 s
    busy timeout) with what is left. The store's own exit hook alone (up to 10 s for the
    events, then 10 s for the rows, after a first attempt) took serve's exit to 20 s with
    the database locked.
    """
    from rasa_project.tracker_store import ledger_store

    store = ledger_store(agent)
    if store is None:
        return
    deadline = time.monotonic() + timeout
    store.ledger_writer.close(timeout / 3)  # written, or kept in the quarantine file
    try:
        store.close(max(deadline - time.monotonic(), 1.0))
    except Exception:  # the attempt outlasted the budget; it still keeps what fails
        logger.exception("conversations: the last write attempt at exit did not finish in time")


def _confidence(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


@contextlib.contextmanager
def running_assistant(
    cfg: Settings, progress: Progress = lambda _msg: None, *, supervised: bool = False
) -> Iterator[tuple[Assistant, asyncio.AbstractEventLoop]]:
    """Model (trained if needed), action server and agent, torn down on exit.

    `supervised`: the action server is restarted when it dies or hangs (the terminal
    chat: a long session must not lose its article answers to one crash).
    """
    model = ensure_model(cfg, progress)
    progress("Starting the action server...")
    server = SupervisedActionServer(cfg) if supervised else ActionServer(cfg)
    with server as actions:
        progress("Loading the model...")
        loop = asyncio.new_event_loop()
        try:
            assistant = loop.run_until_complete(
                Assistant.load(cfg, model, action_url=actions.url, action_secret=actions.secret)
            )
            try:
                yield assistant, loop
            finally:
                flush_ledger(assistant.agent)
                loop.run_until_complete(close_action_endpoint(assistant.agent))
        finally:
            loop.close()
