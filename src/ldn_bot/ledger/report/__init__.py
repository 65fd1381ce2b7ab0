"""The ledger report: what the bot was asked, how it routed, what the guard stopped, what
people thought of the answers, and the conversations behind the down votes and the
unanswered questions. One self-contained HTML page and a short summary for the terminal.

Modules: `model` (the typed values), `collect`/`transcripts`/`queries` (reading the
database), `labels` (plain-language labels, `labels.yml`, and why a turn went unanswered),
`charts` (inline SVG), `render` (Jinja2 templates in `templates/`), `nlu_export`
(unanswered questions as candidate NLU examples).
"""

from ldn_bot.ledger.report.collect import collect
from ldn_bot.ledger.report.model import (
    NO_TURN,
    DownVote,
    Failure,
    Group,
    Question,
    ReportData,
    RouteFeedback,
    Transcript,
    TranscriptTurn,
    TurnRef,
)
from ldn_bot.ledger.report.render import render_html, summary_text

__all__ = [
    "NO_TURN",
    "DownVote",
    "Failure",
    "Group",
    "Question",
    "ReportData",
    "RouteFeedback",
    "Transcript",
    "TranscriptTurn",
    "TurnRef",
    "collect",
    "render_html",
    "summary_text",
]
