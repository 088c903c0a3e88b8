"""Records passed between pipeline stages.

Small frozen dataclasses: every stage takes and returns these, so each stage can be
tested alone. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

Language = Literal["en", "ja", "ru"]
LANGUAGES: tuple[str, ...] = ("en", "ja", "ru")


@dataclass(frozen=True)
class Source:
    """One feed from the source catalog."""

    name: str
    url: str
    language: str
    kind: str = "rss"  # "rss" (an outlet's own feed), "search" (a search-engine feed) or
    # "gdelt" (GDELT's DOC API in this language, read by backfills only)
    outlet: str | None = None  # display name of the outlet; defaults to `name`
    enabled: bool = True
    #: IANA zone its times without an offset are read in (catalog `timezone`, else by
    #: language: scrapers.catalog.DEFAULT_TIMEZONES).
    timezone: str = "UTC"
    #: The publisher's site, whose sitemaps a backfill walks (catalog `site`); None: the
    #: feed's host. A path limits it to that section (https://example.com/en/).
    site: str | None = None

    @property
    def outlet_name(self) -> str:
        return self.outlet or self.name

    @property
    def site_url(self) -> str:
        """Where the outlet's articles are: `site`, else the root of the feed's host."""
        if self.site:
            return self.site
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}/"


@dataclass(frozen=True)
class FeedEntry:
    """One item of a parsed feed, before its article page is fetched."""

    url: str
    title: str
    summary: str
    published_at: datetime | None
    guid: str
    outlet: str | None = None  # publisher named by the entry itself (e.g. <source> in search feeds)
    #: The publisher's site the entry names (a search feed's ``<source url=…>``).
    outlet_url: str | None = None
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    #: How much of `published_at` the feed stated (scrapers.text.dates: datetime,
    #: zone_assumed, date; none when it gave no time).
    published_precision: str = "none"


@dataclass(frozen=True)
class Article:
    """What extraction makes of one article page."""

    url: str
    title: str
    text: str
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None
    summary: str = ""
    site_name: str | None = None
    tags: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    # "datetime": published_at carries a stated time; "date": the page states only a day
    # (published_at is then that day at 00:00 UTC and must not be read as a time).
    published_precision: str = "datetime"
    page_kind: str = "article"  # "article", or "listing" for index pages with no body
    truncated: bool = False  # body shorter than a complete article (teaser, stub)
    paywalled: bool = False  # the page says the rest is behind a paywall / login


@dataclass(frozen=True)
class Evidence:
    """One matched rule term and where it was found."""

    term: str
    field: str  # "title", "summary" or "body"
    group: str  # the rule group that matched, e.g. "japan", "russia", "bilateral"
    weight: float


@dataclass(frozen=True)
class Relevance:
    """A relevance decision with the evidence behind it."""

    score: float  # 0..1
    relevant: bool
    matched: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    reason: str = ""
    # Normalised analyst tags, "kind:id" in snake_case, the same across languages:
    # "theme:peace_treaty", "place:kuril_islands", "person:sergei_lavrov", "org:gazprom".
    tags: list[str] = field(default_factory=list)
    # Every tag that matched, the tag-only terms' included (people, places, organisations
    # and actions): the language-neutral evidence event linking compares.
    event_tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FetchResult:
    """One HTTP fetch: body bytes plus what conditional GET needs next time."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int
    body: bytes
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    elapsed_s: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class Rejection:
    """Why a fetched page was not loaded: `code` groups and counts (a column of its own in
    `staged_articles`, so no report parses it back out of text), `detail` says it in full."""

    code: str  # "robots.txt", "unextractable", "listing page", "no article text",
    #            "not relevant", or the exception class of a failed page fetch
    detail: str


@dataclass(frozen=True)
class StagedRecord:
    """One extracted page as the `articles` row it would become: what `fetch_articles`
    stages (as JSON in `staged_articles.record`, whose keys are `articles` columns, read
    on the server with jsonb_populate_record) and what the load and `reprocess` store."""

    url: str  # where it opens: served URL or same-site rel=canonical, scheme as served
    url_key: str  # the dedup key (scheme folded)
    original_url: str  # the feed's link
    title: str
    body: str
    summary: str
    authors: list[str]
    published_at: datetime | None
    fetched_at: datetime
    language: str
    source: str  # the outlet
    source_id: int
    guid: str
    tags: list[str]  # the publisher's keywords
    captions: list[str]
    relevance_score: float
    relevant: bool
    matched_terms: list[dict[str, Any]]  # Evidence as term, field, group, weight
    topic_tags: list[str]  # ours, kind:id
    content_hash: str
    etag: str | None
    last_modified: str | None
    published_precision: str
    truncated: bool
    paywalled: bool
    #: A search item whose page could not be reached: headline, publisher and time only.
    headline_only: bool = False
    minhash: dict[str, Any] | None = None  # the sketch the load reuses (loader.minhash_field)

    def as_row(self) -> dict[str, Any]:
        """The record as a dict of column values (no sketch when there is none)."""
        row = asdict(self)
        if row["minhash"] is None:
            del row["minhash"]
        return row
