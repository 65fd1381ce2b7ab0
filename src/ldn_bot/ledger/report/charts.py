"""The report's charts: matplotlib figures as inline SVG (text stays text, ids unique in
the page). Legends are left to the page (HTML, so they wrap on a phone); with fewer than
`SMALL_DAYS` days the per-day charts give way to a table and a chart of totals."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ldn_bot.guard.verdict import Category
from ldn_bot.ledger.report.model import NO_TURN, ReportData
from ldn_bot.routing import Route

TOP_RULES_CHART = 15
BARS_UP_TO_DAYS = 31  # the activity chart draws lines for longer periods
SMALL_DAYS = 3  # fewer days than this: no per-day chart (one day would be one giant bar)

ROUTE_COLOURS = {
    Route.ARTICLE_ANSWER.value: "#3b6ea5",
    Route.SMALLTALK.value: "#9db4cc",
    Route.DOCTOR_REFERRAL.value: "#d9922e",
    Route.EMERGENCY.value: "#b8403a",
    Route.OUT_OF_SCOPE.value: "#7b62a3",
    Route.LANGUAGE.value: "#5f8f7a",
    Route.FALLBACK.value: "#767676",
    NO_TURN: "#d8d2c4",
}
CATEGORY_COLOURS = {
    Category.EMERGENCY.value: "#b8403a",
    Category.PILL_SPLITTING.value: "#b5651d",
    Category.DOSING.value: "#d9922e",
    Category.PERSONAL_ADVICE.value: "#e3bd6b",
}
MESSAGES_COLOUR = "#3d4f5c"
CONVERSATIONS_COLOUR = "#a3b3bf"
OTHER_COLOUR = "#b0b0b0"
INK = "#2b2f33"
MUTED = "#6b7075"
GRID = "#e3e6e8"


@dataclass(frozen=True)
class Key:
    """One entry of a chart's legend."""

    label: str
    colour: str
    hatched: bool = False


@dataclass(frozen=True)
class Figure:
    """A chart (or, without data, a sentence saying so) with its caption and the text
    a screen reader reads instead of the picture."""

    name: str
    caption: str
    label: str  # the chart's content in words, or why there is no chart
    svg: str | None = None
    legend: tuple[Key, ...] = ()
    wide: bool = False


def figures(data: ReportData) -> dict[str, Figure]:
    """The report's five figures, by name."""
    return {
        "activity": activity(data),
        "routes": routes(data),
        "categories": categories(data),
        "rules": rules(data),
        "feedback": feedback(data),
    }


def small(data: ReportData) -> bool:
    """Fewer days than `SMALL_DAYS` (but some): totals instead of per-day charts."""
    return 0 < len(data.days) < SMALL_DAYS


def activity(data: ReportData) -> Figure:
    """Messages and conversations per day: bars, lines over many days, a sentence when few."""
    caption = "Conversations and messages per day (UTC)"
    if not data.days:
        return Figure("activity", caption, "No turns in this period.")
    if small(data):
        return Figure(
            "activity",
            caption,
            f"{len(data.days)} day(s) of data: {data.turns} messages in "
            f"{data.conversations} conversations. The daily numbers are in the table below.",
        )
    labels = [f"{day.day:%d %b}" for day in data.days]
    xs = list(range(len(labels)))
    messages = [day.messages for day in data.days]
    conversations = [day.conversations for day in data.days]
    fig, ax = _axes(height=3.0)
    if len(xs) <= BARS_UP_TO_DAYS:
        kind = "Bar chart"
        width = 0.4
        ax.bar([x - width / 2 for x in xs], messages, width, color=MESSAGES_COLOUR)
        ax.bar([x + width / 2 for x in xs], conversations, width, color=CONVERSATIONS_COLOUR)
    else:  # grouped bars would be too thin: lines
        kind = "Line chart"
        ax.plot(xs, messages, color=MESSAGES_COLOUR, linewidth=1.8)
        ax.plot(xs, conversations, color=CONVERSATIONS_COLOUR, linewidth=1.8)
        ax.set_ylim(bottom=0)
    _day_axis(ax, labels)
    busiest = max(data.days, key=lambda day: day.messages)
    label = (
        f"{kind} of messages and conversations on each of {len(data.days)} days. "
        f"{data.turns} messages in {data.conversations} conversations; busiest day "
        f"{busiest.day:%Y-%m-%d} with {busiest.messages} messages."
    )
    legend = (
        Key("Messages (turns)", MESSAGES_COLOUR),
        Key("Conversations", CONVERSATIONS_COLOUR),
    )
    return Figure("activity", caption, label, _svg(fig, "activity"), legend, wide=True)


def routes(data: ReportData) -> Figure:
    """Routes per day as stacked bars; over a few days, one bar per route."""
    if not data.days:
        return Figure("routes", "Routes per day", "No turns in this period.")
    shares = ", ".join(f"{route} {_percent(data.share(route))}" for route, _ in data.routes)
    legend = tuple(
        Key(_spaced(route), ROUTE_COLOURS.get(route, OTHER_COLOUR)) for route, _ in data.routes
    )
    if small(data):  # one bar per route, not one giant stacked bar
        items = list(data.routes)[::-1]
        fig, ax = _axes(width=5.0, height=max(1.6, 0.7 + 0.3 * len(items)))
        bars = ax.barh(
            [_plain(_spaced(route)) for route, _ in items],
            [count for _, count in items],
            0.65,
            color=[ROUTE_COLOURS.get(route, OTHER_COLOUR) for route, _ in items],
        )
        _hbar_style(ax, bars)
        label = f"Horizontal bar chart of routes over the period: {shares}."
        caption = "Routes over the period: what kind of reply each turn got"
        return Figure("routes", caption, label, _svg(fig, "routes"))
    labels = [f"{day.day:%d %b}" for day in data.days]
    xs = list(range(len(labels)))
    fig, ax = _axes(height=3.2)
    bottoms = [0] * len(xs)
    for route, _ in data.routes:
        heights = [day.route(route) for day in data.days]
        ax.bar(
            xs,
            heights,
            0.7,
            bottom=bottoms,
            color=ROUTE_COLOURS.get(route, OTHER_COLOUR),
            edgecolor="white",
            linewidth=0.5,
        )
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    _day_axis(ax, labels)
    label = f"Stacked bar chart of routes per day. Shares over the period: {shares}."
    caption = "Routes per day: what kind of reply each turn got"
    return Figure("routes", caption, label, _svg(fig, "routes"), legend, wide=True)


def categories(data: ReportData) -> Figure:
    """Horizontal bars, one per category: a short chart however few categories fired."""
    caption = "Guard triggers by category"
    if not data.guard_categories:
        return Figure("categories", caption, "No guard triggers in this period.")
    items = list(data.guard_categories)[::-1]  # the strongest category at the top
    fig, ax = _axes(width=5.0, height=max(1.6, 0.7 + 0.3 * len(items)))
    bars = ax.barh(
        [_plain(_spaced(name)) for name, _ in items],
        [count for _, count in items],
        0.65,
        color=[CATEGORY_COLOURS.get(name, OTHER_COLOUR) for name, _ in items],
    )
    _hbar_style(ax, bars)
    listing = ", ".join(f"{name} {count}" for name, count in data.guard_categories)
    label = f"Horizontal bar chart of guard triggers by category: {listing}."
    return Figure("categories", caption, label, _svg(fig, "categories"))


def rules(data: ReportData) -> Figure:
    """Horizontal bars for the guard rules that fired most (`TOP_RULES_CHART`)."""
    caption = f"Guard triggers by rule (top {TOP_RULES_CHART})"
    if not data.guard_rules:
        return Figure("rules", caption, "No guard triggers in this period.")
    top = list(data.guard_rules[:TOP_RULES_CHART])[::-1]  # largest at the top
    fig, ax = _axes(width=5.0, height=max(2.2, 0.9 + 0.28 * len(top)))
    bars = ax.barh(
        [_plain(_shorten(item.rule, 38)) for item in top],
        [item.count for item in top],
        0.65,
        color=[CATEGORY_COLOURS.get(item.category, OTHER_COLOUR) for item in top],
    )
    _hbar_style(ax, bars)
    listing = ", ".join(f"{item.rule} {item.count}" for item in data.guard_rules[:5])
    label = f"Horizontal bar chart of guard triggers by rule; the most frequent: {listing}."
    return Figure("rules", caption, label, _svg(fig, "rules"))


def feedback(data: ReportData) -> Figure:
    """Thumbs up and down per route, on either side of zero."""
    caption = "Feedback per route: thumbs down (−) to the left, thumbs up (+) to the right"
    if not data.feedback:
        return Figure("feedback", caption, "No feedback votes in this period.")
    items = list(data.feedback)[::-1]
    fig, ax = _axes(width=6.0, height=max(1.8, 0.8 + 0.36 * len(items)))
    names = [_plain(_spaced(item.route)) for item in items]
    colours = [ROUTE_COLOURS.get(item.route, OTHER_COLOUR) for item in items]
    ups = ax.barh(names, [item.up for item in items], 0.6, color=colours)
    downs = ax.barh(
        names,
        [-item.down for item in items],
        0.6,
        color=colours,
        alpha=0.45,
        hatch="///",
        edgecolor="white",
        linewidth=0,
    )
    for bars, texts in (
        (ups, [f"+{i.up}" if i.up else "" for i in items]),
        (downs, [f"−{i.down}" if i.down else "" for i in items]),
    ):
        ax.bar_label(bars, labels=texts, padding=3, color=INK, fontsize=9)
    widest = max(max(item.up, item.down) for item in items)
    ax.set_xlim(-widest * 1.35 - 0.5, widest * 1.35 + 0.5)
    ax.axvline(0, color=MUTED, linewidth=0.8)
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ax.grid(axis="y", visible=False)
    _count_axis(ax.xaxis)
    ax.xaxis.set_major_formatter(_signed_formatter())
    ax.tick_params(axis="y", length=0)
    listing = ", ".join(
        f"{i.route} {i.up} up and {i.down} down (net {i.net:+d})" for i in data.feedback
    )
    label = f"Diverging bar chart of feedback votes per route: {listing}."
    legend = (Key("up (+1 each)", MUTED), Key("down (−1 each)", MUTED, hatched=True))
    return Figure("feedback", caption, label, _svg(fig, "feedback"), legend)


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def _spaced(name: str) -> str:
    return name.replace("_", " ")


def _plain(label: str) -> str:
    """A label as matplotlib shows it literally (no mathtext)."""
    return label.replace("$", r"\$")


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _hbar_style(ax: Any, bars: Any) -> None:
    ax.bar_label(bars, padding=3, color=INK, fontsize=9)
    ax.margins(x=0.12)
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ax.grid(axis="y", visible=False)
    _count_axis(ax.xaxis)
    ax.tick_params(axis="y", length=0)


def _axes(*, width: float = 10.0, height: float = 3.0) -> tuple[Any, Any]:
    """A figure with one sober axes: no top/right spines, light grid behind the bars."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MatplotlibFigure

    fig = MatplotlibFigure(
        figsize=(width, height), dpi=72, constrained_layout=True, facecolor="white"
    )
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#b7bcc0")
    ax.tick_params(colors=MUTED, labelcolor=INK, labelsize=9)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    return fig, ax


def _day_axis(ax: Any, labels: Sequence[str]) -> None:
    """Day labels on x, thinned out so they never overlap."""
    step = max(1, -(-len(labels) // 14))
    ax.set_xticks(range(0, len(labels), step))
    ax.set_xticklabels(labels[::step])
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.tick_params(axis="x", length=0)
    _count_axis(ax.yaxis)


def _count_axis(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, nbins=5))


def _signed_formatter() -> Any:
    """Votes with their sign: +2 up, −2 down, 0."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _pos: f"{value:+g}".replace("-", "−") if value else "0")


def _svg(fig: Any, name: str) -> str:
    """The figure as inline SVG: text stays text (the page's font), ids are unique in the
    page, and nothing of the standalone file (prolog, DOCTYPE, metadata, namespaces) is left."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"ldn-bot-{name}"}):
        fig.savefig(
            buffer,
            format="svg",
            metadata={"Creator": None, "Date": None, "Format": None, "Type": None},
        )
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<style[^>]*>.*?</style>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = re.sub(r'\s(width|height)="[\d.]+pt"', "", svg, count=2)
    ids = set(re.findall(r'\bid="([^"]+)"', svg))

    def prefixed(match: re.Match[str]) -> str:
        target = match.group(2)
        return f"{match.group(1)}{name}-{target}" if target in ids else match.group(0)

    svg = re.sub(r'(\bid=")([^"]+)', prefixed, svg)
    svg = re.sub(r"(url\(#)([^)]+)", prefixed, svg)
    svg = re.sub(r'((?:xlink:)?href="#)([^"]+)', prefixed, svg)
    svg = svg.replace("://", "&#58;//")  # label text, never a reference
    return svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1).strip()
