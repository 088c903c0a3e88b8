"""The Nichiro page's chart: relevant articles per day by language as an inline SVG.

Pure functions on the ``daily`` part of scrapers.db.dashboard.summary(); no Airflow, no Jinja2.
Every text that comes from the data (days, language codes) goes through ``html.escape``, so
the page (plugins/nichiro_ui.py) can insert the result unescaped, as Markup.

It lives in the plugins folder, which Airflow imports in every component: the standard
library only.
"""

import html
from typing import Any

#: Colours of the chart's series, by language; other keys take the fallback palette.
LANGUAGE_COLOURS = {"en": "#2563eb", "ja": "#dc2626", "ru": "#16a34a", "unknown": "#6b7280"}
_FALLBACK_COLOURS = ("#9333ea", "#ea580c", "#0891b2", "#ca8a04")


def svg_chart(daily: dict[str, Any], width: int = 960, height: int = 260) -> str:
    """Stacked bars of articles per day by language, as an inline SVG (escaped throughout).

    :param daily: ``{"days": [iso dates], "series": {language: [counts]}}`` from
        scrapers.db.dashboard.daily_counts
    """
    days: list[str] = daily["days"]
    series: dict[str, list[int]] = daily["series"]
    esc = html.escape
    left, right, top, bottom = 44, 12, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    peak = max(totals, default=0)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
           f'viewBox="0 0 {width} {height}" width="100%" '
           f'aria-label="Relevant articles per day by language, last {len(days)} days">']
    if peak == 0:
        out.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
                   f'fill="#6b7280">No relevant articles in the last {len(days)} days</text>'
                   "</svg>")
        return "".join(out)
    step = max(1, -(-peak // 4))  # four grid lines, integer steps
    y_max = step * 4
    slot = plot_w / max(1, len(days))
    for k in range(5):
        y = top + plot_h - plot_h * k / 4
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#e5e7eb"/><text x="{left - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end" font-size="11" fill="#6b7280">{step * k}</text>')
    colours = _colours(list(series))
    for i, day in enumerate(days):
        x = left + i * slot + slot * 0.1
        base = float(top + plot_h)
        for lang, values in series.items():
            n = values[i]
            if not n:
                continue
            h = plot_h * n / y_max
            base -= h
            out.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{slot * 0.8:.1f}" '
                       f'height="{h:.1f}" fill="{colours[lang]}"><title>{esc(day)} '
                       f'{esc(lang)}: {n}</title></rect>')
        if i % 5 == 0 or i == len(days) - 1:
            out.append(f'<text x="{x + slot * 0.4:.1f}" y="{height - bottom + 16}" '
                       f'text-anchor="middle" font-size="11" fill="#374151">'
                       f'{esc(day[5:])}</text>')
    lx = float(left)
    for lang, colour in colours.items():
        out.append(f'<rect x="{lx}" y="6" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{lx + 16}" y="16" font-size="12" fill="#111827">{esc(lang)} '
                   f'({sum(series[lang])})</text>')
        lx += 30 + 9 * len(lang) + 8 * len(str(sum(series[lang])))
    out.append("</svg>")
    return "".join(out)


def _colours(keys: list[str]) -> dict[str, str]:
    spare = iter(_FALLBACK_COLOURS * (1 + len(keys) // len(_FALLBACK_COLOURS)))
    return {k: LANGUAGE_COLOURS.get(k) or next(spare) for k in keys}
