"""A daily digest you could send: per UTC day and side, the top events, the tags new that
day, the spikes and the watchlists' new matches, as Markdown and as HTML (issue 24).
Pure: `scrapers.db.digest_editions` gathers the content and stores the editions.

A side is where the outlets are: the Japanese outlets, the Russian outlets, the
international ones (scrapers.db.digest_editions says how an article's side is found).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

SIDES: Mapping[str, str] = {"japan": "Japanese outlets", "russia": "Russian outlets",
                            "international": "International outlets"}
#: The side's own language first, for its events' headlines.
SIDE_LANGUAGES: Mapping[str, tuple[str, ...]] = {
    "japan": ("ja", "en", "ru"), "russia": ("ru", "en", "ja"),
    "international": ("en", "ja", "ru")}


def headline(event: Mapping[str, Any], side: str) -> str:
    """An event's headline in the side's language, else another."""
    headlines = event.get("headlines") or {}
    for language in SIDE_LANGUAGES[side]:
        if headlines.get(language):
            return str(headlines[language])
    return f"event {event['event_id']}"


def markdown(day: date, side: str, articles: int, content: Mapping[str, Any]) -> str:
    """The edition as Markdown (the text a chat message or e-mail carries)."""
    lines = [f"# Nichiro digest, {day.isoformat()}: {SIDES[side]}", "",
             f"{articles} relevant article(s).", "", "## Top events", ""]
    lines += [f"- {_md(headline(e, side))} ({e['articles']} report(s) from this side, "
              f"{e['article_count']} in all; {', '.join(e['languages'])})"
              for e in content["events"]] or ["- none"]
    lines += ["", "## New tags", ""]
    lines += [f"- {_md(t['tag'])} ({t['articles']})" for t in content["new_tags"]] or ["- none"]
    lines += ["", "## Spikes", ""]
    lines += [f"- {_md(s['tag'])}: {s['count']} article(s), usually {s['mean']:.1f} a day "
              f"(z = {s['z']:.1f})" for s in content["spikes"]] or ["- none"]
    if content.get("watches"):
        lines += ["", "## Watchlists", ""]
        lines += [f"- {_md(w['watch'])}: {w['articles']} new: "
                  + "; ".join(_md(t) for t in w["titles"]) for w in content["watches"]]
    return "\n".join(lines) + "\n"


def html_page(day: date, side: str, articles: int, content: Mapping[str, Any]) -> str:
    """The same edition as a small HTML document, every text escaped."""
    def items(rows: Sequence[str]) -> str:
        return "<ul>" + "".join(f"<li>{row}</li>" for row in rows or ["none"]) + "</ul>"

    esc = html.escape
    events = [f"{esc(headline(e, side))} ({e['articles']} report(s) from this side, "
              f"{e['article_count']} in all; {esc(', '.join(e['languages']))})"
              for e in content["events"]]
    tags = [f"{esc(t['tag'])} ({t['articles']})" for t in content["new_tags"]]
    spikes = [f"{esc(s['tag'])}: {s['count']} article(s), usually {s['mean']:.1f} a day "
              f"(z = {s['z']:.1f})" for s in content["spikes"]]
    watches = [f"{esc(w['watch'])}: {w['articles']} new: "
               + "; ".join(esc(t) for t in w["titles"]) for w in content.get("watches") or []]
    title = f"Nichiro digest, {day.isoformat()}: {SIDES[side]}"
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
            f"</head><body><h1>{esc(title)}</h1><p>{articles} relevant article(s).</p>"
            f"<h2>Top events</h2>{items(events)}<h2>New tags</h2>{items(tags)}"
            f"<h2>Spikes</h2>{items(spikes)}"
            + (f"<h2>Watchlists</h2>{items(watches)}" if watches else "")
            + "</body></html>\n")


def _md(text: str) -> str:
    """Text that Markdown shows as written: no link, emphasis or heading can form."""
    return "".join("\\" + ch if ch in "\\`*_[]<>#|" else ch for ch in text)
