"""The timeline of a search as a bar chart: server-rendered SVG, so it works without scripts.

Each bar links to the same search narrowed to its period, so a click (or Enter on a focused
bar) drills down. The SVG is an image with a label that states the range and the peak; a
table of the same counts follows for screen readers. Colours and sizes come from style.css:
the content security policy allows no inline style, and SVG presentation attributes are not
needed.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Mapping
from typing import Any

_e = html.escape

#: Per interval: the column heading, how a bucket is named, and its last day from its first.
_UNITS: dict[str, tuple[str, Callable[[dt.date], str], Callable[[dt.date], dt.date]]] = {
    "day": ("Ngày", lambda d: d.strftime("%d/%m/%Y"), lambda d: d),
    "week": ("Tuần", lambda d: "tuần từ " + d.strftime("%d/%m/%Y"), lambda d: d + dt.timedelta(days=6)),
    "month": (
        "Tháng",
        lambda d: d.strftime("%m/%Y"),
        lambda d: dt.date(d.year + d.month // 12, d.month % 12 + 1, 1) - dt.timedelta(days=1),
    ),
    "year": ("Năm", lambda d: str(d.year), lambda d: dt.date(d.year, 12, 31)),
}
_BY = {"day": "ngày", "week": "tuần", "month": "tháng", "year": "năm"}
#: The drawing's own units: one bar `_STEP` wide, `_HEIGHT` tall at its highest.
_STEP, _GAP, _HEIGHT = 12, 2, 60


def _period(start: dt.date, interval: str) -> tuple[str, str]:
    """The `from` and `to` of a bucket, as the filters take them."""
    if interval == "month":
        return start.strftime("%Y-%m"), start.strftime("%Y-%m")
    if interval == "year":
        return str(start.year), str(start.year)
    return start.isoformat(), _UNITS[interval][2](start).isoformat()


def timeline_chart(timeline: Mapping[str, Any], link: Callable[[str, str], str]) -> str:
    """The chart and its table for a timeline as `/search` gives it; `link(from, to)` is the URL
    of the search narrowed to a period. Empty when nothing dated matched."""
    buckets = [(dt.date.fromisoformat(b["start"]), int(b["count"])) for b in timeline["buckets"]]
    interval = str(timeline["interval"])
    undated = int(timeline.get("undated", 0))
    if not buckets or not any(count for _, count in buckets):
        return ""
    heading, name, _ = _UNITS[interval]
    peak_start, peak = max(buckets, key=lambda b: (b[1], -b[0].toordinal()))
    label = (
        f"Số bài theo {_BY[interval]}, từ {name(buckets[0][0])} đến {name(buckets[-1][0])}: "
        f"nhiều nhất {peak} bài, {name(peak_start)}."
    )
    bars = []
    for i, (start, count) in enumerate(buckets):
        if not count:
            continue
        height = max(1.0, _HEIGHT * count / peak)
        date_from, date_to = _period(start, interval)
        bars.append(
            f'<a href="{_e(link(date_from, date_to))}" data-nav aria-label="{_e(name(start))}: {count} bài">'
            f'<rect class="bar" x="{i * _STEP}" y="{_HEIGHT - height:.1f}" width="{_STEP - _GAP}" '
            f'height="{height:.1f}"><title>{_e(name(start))}: {count} bài</title></rect></a>'
        )
    width = len(buckets) * _STEP
    rows = "".join(f"<tr><td>{_e(name(start))}</td><td>{count}</td></tr>" for start, count in buckets if count)
    aside = f'<p class="undated">{undated} bài không rõ ngày</p>' if undated else ""
    approximate = int(timeline.get("approximate", 0))
    note = f'<p class="approximate">{approximate} bài chỉ rõ tháng hoặc năm, tính vào đầu kỳ</p>' if approximate else ""
    return f"""<figure class="timeline">
<figcaption>Theo {_BY[interval]}: <span class="range">{_e(name(buckets[0][0]))} – {_e(name(buckets[-1][0]))}</span></figcaption>
<svg class="timeline-chart" role="img" aria-label="{_e(label)}" viewBox="0 0 {width} {_HEIGHT}" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">{"".join(bars)}</svg>
{aside}{note}
<table class="visually-hidden"><caption>{_e(label)}</caption><tr><th scope="col">{heading}</th><th scope="col">Số bài</th></tr>{rows}</table>
</figure>"""
