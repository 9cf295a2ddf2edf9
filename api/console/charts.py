"""Charts drawn on the server as SVG: no script, no library to download, readable without either.

Each chart has axes with ticks and labels, a title for screen readers, and lines or bars scaled
into a fixed view box that the page stretches to its width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 24, 48
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed")


@dataclass
class Series:
    name: str
    values: list[float]
    color: str = ""
    step: bool = False


@dataclass
class Rule:
    """A horizontal line across the chart (a threshold, a goal) with its label."""

    value: float
    label: str
    color: str = "#6b7280"


@dataclass
class Chart:
    title: str
    x_labels: list[str]
    series: list[Series]
    y_label: str = ""
    rules: list[Rule] = field(default_factory=list)
    y_max: float | None = None
    width: int = WIDTH  # narrower for a chart in a half-width column, so its text stays legible


NICE_STEPS = (1, 2, 3, 4, 5, 10, 15, 20, 25, 50, 100, 150, 200, 250, 500, 1000, 2000, 5000)


def _nice_max(value: float) -> float:
    """The top of the axis: five equal whole ticks that reach past ``value``."""
    for step in NICE_STEPS:
        if value <= step * 5:
            return step * 5
    return float(value)


def _ticks(top: float) -> list[float]:
    return [top * i / 5 for i in range(6)]


def _label(value: float) -> str:
    return f"{value:g}" if value < 10_000 else f"{value / 1000:g}k"


def line_chart(chart: Chart) -> str:
    """Lines (or steps) over evenly spaced x labels, with horizontal rules drawn in."""
    highest = max(
        [v for s in chart.series for v in s.values] + [r.value for r in chart.rules] + [0]
    )
    top = chart.y_max or _nice_max(highest * 1.1)
    count = max(len(chart.x_labels), 1)
    plot_w, plot_h = chart.width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w * (i / (count - 1)) if count > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - min(v, top) / top)

    parts = [_frame(chart, top, plot_w, plot_h)]
    parts.append(_x_axis(chart.x_labels, x))
    for rule in chart.rules:
        parts.append(
            f'<line x1="{LEFT}" x2="{chart.width - RIGHT}" y1="{y(rule.value):.1f}" '
            f'y2="{y(rule.value):.1f}" stroke="{rule.color}" stroke-dasharray="6 4"/>'
            f'<text x="{chart.width - RIGHT - 4}" y="{y(rule.value) - 4:.1f}" text-anchor="end" '
            f'class="rule">{escape(rule.label)}</text>'
        )
    for index, series in enumerate(chart.series):
        color = series.color or PALETTE[index % len(PALETTE)]
        points: list[str] = []
        for i, value in enumerate(series.values):
            if series.step and points:
                points.append(f"{x(i):.1f},{y(series.values[i - 1]):.1f}")
            points.append(f"{x(i):.1f},{y(value):.1f}")
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2.5" '
            f'points="{" ".join(points)}"/>'
        )
        parts.extend(
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{color}"/>'
            for i, v in enumerate(series.values)
        )
    parts.append(_legend(chart.series))
    return _svg(chart, "".join(parts))


def bar_chart(chart: Chart) -> str:
    """Grouped bars, one group per x label, one bar per series."""
    highest = max(
        [v for s in chart.series for v in s.values] + [r.value for r in chart.rules] + [0]
    )
    top = chart.y_max or _nice_max(highest * 1.1)
    count = max(len(chart.x_labels), 1)
    plot_w, plot_h = chart.width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group = plot_w / count
    bar = group * 0.7 / max(len(chart.series), 1)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - min(v, top) / top)

    parts = [_frame(chart, top, plot_w, plot_h)]
    parts.append(_x_axis(chart.x_labels, lambda i: LEFT + group * (i + 0.5)))
    for index, series in enumerate(chart.series):
        color = series.color or PALETTE[index % len(PALETTE)]
        for i, value in enumerate(series.values):
            left = LEFT + group * i + group * 0.15 + bar * index
            parts.append(
                f'<rect x="{left:.1f}" y="{y(value):.1f}" width="{bar:.1f}" '
                f'height="{TOP + plot_h - y(value):.1f}" fill="{color}">'
                f"<title>{escape(series.name)}: {_label(value)}</title></rect>"
            )
    for rule in chart.rules:
        parts.append(
            f'<line x1="{LEFT}" x2="{chart.width - RIGHT}" y1="{y(rule.value):.1f}" '
            f'y2="{y(rule.value):.1f}" stroke="{rule.color}" stroke-dasharray="6 4"/>'
            f'<text x="{chart.width - RIGHT - 4}" y="{y(rule.value) - 4:.1f}" text-anchor="end" '
            f'class="rule">{escape(rule.label)}</text>'
        )
    parts.append(_legend(chart.series))
    return _svg(chart, "".join(parts))


def _frame(chart: Chart, top: float, plot_w: float, plot_h: float) -> str:
    parts = []
    for tick in _ticks(top):
        ty = TOP + plot_h * (1 - tick / top)
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end">{_label(tick)}</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" class="axis"/>'
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        f'class="axis"/>'
    )
    if chart.y_label:
        parts.append(
            f'<text x="14" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 14 {TOP + plot_h / 2:.1f})">{escape(chart.y_label)}</text>'
        )
    return "".join(parts)


def _x_axis(labels: Sequence[str], x: object) -> str:
    """Labels under the axis; when they are many, every n-th so they never overlap."""
    assert callable(x)
    every = max(1, -(-len(labels) // 10))
    base = HEIGHT - BOTTOM
    return "".join(
        f'<text x="{x(i):.1f}" y="{base + 18}" text-anchor="middle">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0 or i == len(labels) - 1
    )


def _legend(series: Sequence[Series]) -> str:
    parts = []
    left = LEFT
    for index, one in enumerate(series):
        color = one.color or PALETTE[index % len(PALETTE)]
        parts.append(
            f'<rect x="{left}" y="{HEIGHT - 16}" width="12" height="12" fill="{color}"/>'
            f'<text x="{left + 16}" y="{HEIGHT - 6}">{escape(one.name)}</text>'
        )
        # Wide enough for CJK names (a Chinese character is about as wide as the font is tall).
        left += 28 + sum(12 if ord(char) > 0x2E80 else 7 for char in one.name)
    return "".join(parts)


def _svg(chart: Chart, body: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {chart.width} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(chart.title)}</title>{body}</svg>'
    )
