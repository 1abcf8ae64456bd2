"""A run's DAG and its timeline as inline SVG: no script, no font or file fetched, styled by the page's
CSS classes (`phase-Succeeded`…), the same colours as `kubectl baton graph` and the Grafana dashboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from baton.core.dag_layout import Layout

from .markup import Markup, element, join

LABEL_CHARS = 22
GANTT_WIDTH = 880
GANTT_LABEL = 200
GANTT_ROW = 22


@dataclass(frozen=True, slots=True)
class NodeView:
    """What a DAG node shows of its task."""

    phase: str
    detail: str
    """The second line: attempts, exit code, a forEach task's instances."""
    href: str


def _short(name: str, limit: int = LABEL_CHARS) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def dag(layout: Layout, views: Mapping[str, NodeView], *, label: str) -> Markup:
    pad = 8
    width, height = layout.width + 2 * pad, layout.height + 2 * pad
    w, h = layout.node_width, layout.node_height
    edges = []
    for up, down in layout.edges:
        a, b = layout.nodes[up], layout.nodes[down]
        x1, y1 = a.x + w // 2 + pad, a.y + h + pad
        x2, y2 = b.x + w // 2 + pad, b.y + pad
        bend = max(16, (y2 - y1) // 2)
        path = f"M{x1},{y1} C{x1},{y1 + bend} {x2},{y2 - bend} {x2},{y2 - 4}"
        edges.append(element("path", {"d": path, "class": "edge", "marker-end": "url(#arrow)"}))
    nodes = []
    for name, placed in layout.nodes.items():
        view = views.get(name) or NodeView("Pending", "", "")
        x, y = placed.x + pad, placed.y + pad
        box = element("rect", {"x": x, "y": y, "width": w, "height": h, "rx": 6})
        if view.phase in view.detail or not view.phase:  # "Failed (Error), exit 3" says its phase
            said = f"{name}: {view.detail}" if view.detail else name
        else:
            said = f"{name}: {view.phase}" + (f" ({view.detail})" if view.detail else "")
        title = element("title", None, said)
        first = element("text", {"x": x + 10, "y": y + 18, "class": "name"}, _short(name))
        second = element("text", {"x": x + 10, "y": y + 34, "class": "detail"}, _short(view.detail, 28))
        inner = join([title, box, first, second])
        if view.href:
            inner = element("a", {"href": view.href}, inner)
        group = {"class": f"node phase-{view.phase}", "data-task": name, "data-phase": view.phase}
        nodes.append(element("g", group, inner))
    marker = element(
        "marker",
        {
            "id": "arrow",
            "viewBox": "0 0 8 8",
            "refX": 7,
            "refY": 4,
            "markerWidth": 7,
            "markerHeight": 7,
            "orient": "auto-start-reverse",
        },
        element("path", {"d": "M0,0 L8,4 L0,8 z", "class": "arrowhead"}),
    )
    attrs: dict[str, object] = {
        "class": "dag",
        "viewBox": f"0 0 {width} {height}",
        "width": width,
        "height": height,
        "role": "img",
        "aria-label": label,
        "xmlns": "http://www.w3.org/2000/svg",
    }
    return element("svg", attrs, element("defs", None, marker), join(edges), join(nodes))


@dataclass(frozen=True, slots=True)
class Bar:
    name: str
    phase: str
    start: datetime
    end: datetime | None
    """None while it runs (drawn up to now)."""
    label: str


def gantt(bars: Sequence[Bar], now: datetime) -> Markup:
    """One row per task that started, its bar from start to end on a common time axis."""
    if not bars:
        return Markup("")
    first = min(bar.start for bar in bars)
    last = max([now if bar.end is None else bar.end for bar in bars] + [first])
    span = max((last - first).total_seconds(), 1.0)
    scale = (GANTT_WIDTH - GANTT_LABEL - 10) / span
    rows = []
    for index, bar in enumerate(bars):
        y = index * GANTT_ROW
        x = GANTT_LABEL + (bar.start - first).total_seconds() * scale
        length = max(2.0, ((bar.end or now) - bar.start).total_seconds() * scale)
        rows.append(
            element(
                "g",
                {"class": f"bar phase-{bar.phase}", "data-task": bar.name},
                element("title", None, f"{bar.name}: {bar.label}"),
                element("text", {"x": 0, "y": y + 15, "class": "name"}, _short(bar.name, 26)),
                element(
                    "rect", {"x": round(x, 1), "y": y + 3, "width": round(length, 1), "height": 16, "rx": 3}
                ),
            )
        )
    height = len(bars) * GANTT_ROW + 18
    axis = element("text", {"x": GANTT_LABEL, "y": height - 4, "class": "axis"}, f"0 s … {span:,.0f} s")
    attrs: dict[str, object] = {
        "class": "gantt",
        "viewBox": f"0 0 {GANTT_WIDTH} {height}",
        "width": GANTT_WIDTH,
        "height": height,
        "role": "img",
        "aria-label": "timeline of the tasks",
        "xmlns": "http://www.w3.org/2000/svg",
    }
    return element("svg", attrs, join(rows), axis)
