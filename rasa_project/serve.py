"""`ldn-bot serve` once its options are checked: model, supervised action server, Sanic app."""

from __future__ import annotations

import threading

from ldn_bot.assistant import Progress, ServeOptions
from ldn_bot.settings import Settings
from rasa_project.action_process import SupervisedActionServer
from rasa_project.endpoints import endpoints
from rasa_project.training import ensure_model, quiet_rasa
from rasa_project.web.app import create_app


def serve(cfg: Settings, options: ServeOptions, progress: Progress) -> None:
    """Train if needed, start the action server, serve on `options.sock` until stopped.

    Raises `RuntimeError` when the server stopped before it was up.
    """
    model = ensure_model(cfg, progress)
    static_dir = cfg.root / "web" / "static"
    if not (static_dir / "vendor" / "webchat.js").exists():
        progress("the chat widget is not built (run `make web`): the page will not load")
    quiet_rasa(cfg)
    with SupervisedActionServer(cfg, port=options.action_port) as actions:
        app = create_app(
            cfg,
            model_path=model,
            endpoints=endpoints(cfg, actions.url, actions.secret),
            static_dir=static_dir,
            exposure=options.exposure,
            slack=options.slack,
            action_server=actions.status,
        )
        up = threading.Event()

        def announce(*_: object) -> None:
            """Once the model is loaded and the socket accepts connections, not before."""
            up.set()
            options.on_up()

        app.register_listener(announce, "after_server_start")
        progress("Loading the model...")
        app.run(sock=options.sock, workers=1, access_log=False, motd=False)
    if not up.is_set():
        raise RuntimeError("serve stopped before it was up (see the messages above)")
