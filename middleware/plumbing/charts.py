"""Grouped bar charts for the console, drawn by the server as inline SVG (nothing loads from outside the service).

`bar_chart` computes the geometry (bars, a y axis with round ticks, x labels, counts over the bars) and the
accessible text (a title, a one-sentence description, and the numbers as a table for a `<details>` fallback);
`templates/console/chart.html` draws it. The template stays dumb; the arithmetic is tested here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

LEFT, RIGHT, TOP, BOTTOM = 40, 8, 16, 24  # room for the y labels, the counts over bars and the x labels


TONES = ("primary", "success", "danger")


@dataclass(frozen=True)
class Series:
    name: str
    values: list[int]
    tone: str = "primary"  # primary (neutral counts), success or danger: the bar colour in console.css


def nice_step(top: int, ticks: int = 4) -> int:
    """A round tick step (1, 2, 5 × 10^n) so that `ticks` steps cover `top`."""
    if top <= ticks:
        return 1
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def _label_every(count: int, plot_width: float, min_px: float = 34) -> int:
    return max(1, math.ceil(count / max(plot_width / min_px, 1)))


def bar_chart(categories: list[str], series: list[Series], *, title: str, unit: str = "",
              width: int = 720, height: int = 220) -> dict:
    """Geometry of a grouped bar chart: one group per category, one bar per series."""
    count = max(len(categories), 1)
    top_value = max([0, *[v for s in series for v in s.values]])
    step = nice_step(top_value)
    axis_max = max(step * math.ceil(top_value / step), step)
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    slot = plot_w / count
    bar_w = max(min(slot * 0.8 / max(len(series), 1), 24), 1.5)
    group_w = bar_w * len(series)
    every = _label_every(count, plot_w)
    show_values = bar_w >= 9
    groups = []
    for index, category in enumerate(categories):
        x0 = LEFT + index * slot + (slot - group_w) / 2
        bars = []
        for s_index, s in enumerate(series):
            value = s.values[index]
            h = plot_h * value / axis_max
            bars.append({"x": round(x0 + s_index * bar_w, 1), "y": round(TOP + plot_h - h, 1),
                         "w": round(max(bar_w - 1, 1), 1), "h": round(h, 1), "value": value, "tone": s.tone,
                         "label": f"{category}: {value} {s.name}", "show_value": show_values and value > 0,
                         "text_x": round(x0 + s_index * bar_w + bar_w / 2, 1),
                         "text_y": round(TOP + plot_h - h - 3, 1)})
        groups.append({"bars": bars, "label": category if index % every == 0 else "",
                       "label_x": round(LEFT + index * slot + slot / 2, 1)})
    ticks = [{"value": v, "y": round(TOP + plot_h - plot_h * v / axis_max, 1)} for v in range(0, axis_max + 1, step)]
    totals = [{"name": s.name, "total": sum(s.values), "tone": s.tone} for s in series]
    desc = (f"{title}. Totals: " + ", ".join(f"{t['total']} {t['name']}" for t in totals)
            + (f"; the busiest {unit or 'category'} had {top_value}." if top_value else "; nothing yet."))
    rows = [{"category": c, "values": [s.values[i] for s in series]} for i, c in enumerate(categories)]
    return {"width": width, "height": height, "title": title, "desc": desc, "groups": groups, "ticks": ticks,
            "axis_left": LEFT, "axis_right": width - RIGHT, "axis_bottom": TOP + plot_h, "axis_top": TOP,
            "label_y": height - 6, "center_x": round(LEFT + plot_w / 2, 1), "center_y": round(TOP + plot_h / 2, 1),
            "series": totals, "rows": rows, "empty": top_value == 0}


def daily_counts(rows: QuerySet, *, date_field: str, group_field: str, days: int) -> tuple[list[date], dict]:
    """Rows per day (UTC) of the last `days` and per value of `group_field`: (the days, {value: [count a day]}),
    in one GROUP BY query."""
    start = timezone.now().date() - timedelta(days=days - 1)
    dates = [start + timedelta(days=i) for i in range(days)]
    index = {day: i for i, day in enumerate(dates)}
    counts: dict = {}
    grouped = (rows.filter(**{f"{date_field}__date__gte": start}).annotate(day=TruncDate(date_field))
               .values("day", group_field).annotate(n=Count("pk")))
    for row in grouped:
        if row["day"] in index:
            counts.setdefault(row[group_field], [0] * days)[index[row["day"]]] += row["n"]
    return dates, counts


def day_labels(dates: list[date]) -> list[str]:
    """"Nov 24", "25", …, "Dec 01", "02": the month where it starts or changes, the day number elsewhere."""
    return [f"{day:%b %d}" if i == 0 or day.day == 1 else f"{day:%d}" for i, day in enumerate(dates)]


def daily_chart(rows: QuerySet, *, date_field: str, group_field: str, series: list[tuple[str, str, str]],
                title: str, days: int = 14, height: int = 180) -> dict:
    """A bar chart of `rows` per day: one series per (value of `group_field`, series name, tone)."""
    dates, counts = daily_counts(rows, date_field=date_field, group_field=group_field, days=days)
    return bar_chart(day_labels(dates), [Series(name, counts.get(value, [0] * days), tone)
                                         for value, name, tone in series], title=title, unit="day", height=height)
