"""Server-side SVG charts: the Errors page's sparklines and the group page's bars.

No chart library reaches the browser: a chart is a small SVG string built here from
numbers only (every label is escaped), so it obeys the CSP (no script, no inline
style attributes; colours come from classes in ``static/css/errors.css``).
"""

from __future__ import annotations

from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def _label(at: datetime, *, daily: bool) -> str:
    return at.strftime("%Y-%m-%d") if daily else at.strftime("%Y-%m-%d %H:00")


def sparkline(series: list[tuple[datetime, int]], *, width: int = 120, height: int = 28) -> str:
    """A bar sparkline; each bar carries its bucket count (``data-count``)."""
    if not series:
        return ""
    peak = max(count for _, count in series) or 1
    slot = width / len(series)
    bar = max(slot - 1, 1)
    daily = len(series) > 1 and (series[1][0] - series[0][0]).days >= 1
    bars = []
    # Plain f-strings, not format_html: every value is a number or a label this module
    # formats from a datetime, and a page draws thousands of bars.
    for i, (at, count) in enumerate(series):
        h = 0 if count == 0 else max(1.5, (height - 2) * count / peak)
        bars.append(
            f'<rect class="bar{"" if count else " zero"}" x="{i * slot:.2f}" '
            f'y="{height - max(h, 1):.2f}" width="{bar:.2f}" height="{max(h, 1):.2f}" '
            f'data-count="{int(count)}">'
            f"<title>{_label(at, daily=daily)}: {int(count)}</title></rect>"
        )
    total = sum(count for _, count in series)
    return mark_safe(  # noqa: S308 - built from numbers and escaped labels only
        f'<svg class="sparkline" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'data-total="{total}" aria-label="{total} occurrences">{"".join(bars)}</svg>'
    )


def bar_chart(
    series: list[tuple[datetime, int]], *, width: int = 760, height: int = 180, daily: bool = False
) -> SafeString | str:
    """A labelled bar chart with a y-axis maximum and first/last bucket labels."""
    if not series:
        return ""
    pad_left, pad_bottom, pad_top = 36, 20, 8
    plot_w, plot_h = width - pad_left - 4, height - pad_bottom - pad_top
    peak = max(count for _, count in series)
    scale = peak or 1
    slot = plot_w / len(series)
    parts = [
        f'<line class="axis" x1="{pad_left}" y1="{pad_top + plot_h}" '
        f'x2="{width - 4}" y2="{pad_top + plot_h}"/>',
        f'<text class="tick" x="{pad_left - 4}" y="{pad_top + 8}" text-anchor="end">{peak}</text>',
        f'<text class="tick" x="{pad_left - 4}" y="{pad_top + plot_h}" text-anchor="end">0</text>',
    ]
    for i, (at, count) in enumerate(series):
        h = max(plot_h * count / scale, 1 if count else 0)
        parts.append(
            f'<rect class="bar{"" if count else " zero"}" x="{pad_left + i * slot + 0.5:.2f}" '
            f'y="{pad_top + plot_h - h:.2f}" width="{max(slot - 1, 1):.2f}" height="{h:.2f}" '
            f'data-bucket="{at.isoformat()}" data-count="{int(count)}">'
            f"<title>{_label(at, daily=daily)}: {int(count)}</title></rect>"
        )
    first, last = series[0][0], series[-1][0]
    parts.append(
        f'<text class="tick" x="{pad_left}" y="{height - 4}">{escape(_label(first, daily=daily))}'
        "</text>"
    )
    parts.append(
        f'<text class="tick" x="{width - 4}" y="{height - 4}" text-anchor="end">'
        f"{escape(_label(last, daily=daily))}</text>"
    )
    total = sum(count for _, count in series)
    return mark_safe(  # noqa: S308 - numbers and escaped labels only
        f'<svg class="barchart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" data-total="{total}" '
        f'aria-label="{total} occurrences">{"".join(parts)}</svg>'
    )


def meter(value: float, limit: float, *, width: int = 160, height: int = 10) -> SafeString:
    """A horizontal gauge of ``value`` against ``limit`` (warn at 70 %, bad at 90 %)."""
    ratio = 0.0 if not limit else min(value / limit, 1.0)
    level = "bad" if ratio >= 0.9 else "warn" if ratio >= 0.7 else "ok"
    return mark_safe(  # noqa: S308 - numbers only
        f'<svg class="meter {level}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'data-ratio="{ratio:.3f}" aria-label="{ratio:.0%} of the limit">'
        f'<rect class="track" x="0" y="0" width="{width}" height="{height}" rx="3"/>'
        f'<rect class="fill" x="0" y="0" width="{width * ratio:.2f}" height="{height}" rx="3"/>'
        "</svg>"
    )
