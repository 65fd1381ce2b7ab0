"""What the browser loads: the page, its settings, its static files, the quoted article."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from ldn_bot.article_page import article_page, marked_units
from ldn_bot.knowledge.article import load_article
from ldn_bot.settings import Settings


def add_page_routes(app: Sanic, cfg: Settings, static_dir: Path) -> None:
    """`/`, `/article`, `/config.js` and `/static/...` on `app`."""

    @app.route("/", methods=["GET", "HEAD"])
    async def index(_: Request) -> HTTPResponse:
        """The chat page."""
        return await response.file(static_dir / "index.html")

    @app.route("/article", methods=["GET", "HEAD"])
    async def article(request: Request) -> HTTPResponse:
        """The article the assistant quotes, the units `?q=s11,s12` names highlighted
        (`ldn_bot.article_page`); any other query gives the plain article."""
        source = load_article(cfg.article_path)
        marked = marked_units(source, request.args.getlist("q", []))
        return response.html(article_page(source, marked=marked))

    @app.get("/config.js")
    async def config_js(_: Request) -> HTTPResponse:
        """The page's settings: where the channel and the APIs are, what is kept."""
        config = {
            "socketUrl": "",
            "socketPath": "/socket.io/",
            "feedbackUrl": "./api/feedback",
            "forgetUrl": "./api/forget",
            # What the page's privacy text says is stored, and for how long.
            "retentionDays": cfg.retention_days,
            "ledgerText": cfg.ledger_text,
        }
        return response.text(
            f"window.LDN_CONFIG = {json.dumps(config)};\n",
            content_type="application/javascript",
        )

    @app.get("/static/<path:path>")
    async def static(_: Request, path: str) -> HTTPResponse:
        """A file of the page; 404 for anything else (a folder, `..`, a NUL byte)."""
        found = _static_file(static_dir, path)
        if found is None:
            return response.json({"error": "not found"}, status=404)
        content_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        return await response.file(found, mime_type=content_type)


def _static_file(static_dir: Path, path: str) -> Path | None:
    """The file `path` names inside `static_dir`, or None."""
    parts = path.split("/")
    if "\x00" in path or "\\" in path or any(p in ("", ".", "..") for p in parts):
        return None
    root = static_dir.resolve()
    try:
        found = root.joinpath(*parts).resolve()
        found.relative_to(root)
        return found if found.is_file() else None
    except (ValueError, OSError):  # OSError: a name over 255 bytes, a path over 4 KB
        return None
