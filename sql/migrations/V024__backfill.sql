-- Issue 23: history on day one. A backfill discovers past articles (publisher sitemaps
-- first) and sends them through the live path: relevance, page fetch, extraction, dedup,
-- load. Its progress is kept per unit of work, so a rerun or a retry goes on where the
-- last one stopped.

-- How an entry, and the article it became, was found. Existing rows came from feeds.
ALTER TABLE feed_entries ADD COLUMN discovered_via text NOT NULL DEFAULT 'feed'
    CHECK (discovered_via IN ('feed', 'sitemap', 'gdelt', 'search'));
ALTER TABLE articles ADD COLUMN discovered_via text NOT NULL DEFAULT 'feed'
    CHECK (discovered_via IN ('feed', 'sitemap', 'gdelt', 'search'));
COMMENT ON COLUMN articles.discovered_via IS
    'How the article was first found: feed (a live feed or search feed), sitemap (a '
    'publisher''s sitemap, by a backfill), gdelt or search (a dated search, by a backfill)';

-- One row per backfill request. The id derives from the request's range, languages,
-- sources and discovery kinds: the same request made again resumes this one.
CREATE TABLE backfills (
    id          text PRIMARY KEY,
    request     jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    finished_at timestamptz
);

-- A unit of a backfill's work: one source, one way of discovery, one time window.
-- pending: nothing done; discovered: its candidates are stored as feed entries of
-- `fetch_id`; fetched: their pages are staged (the load stores them); failed: discovery
-- failed (`error`), retried by the next run.
CREATE TABLE backfill_units (
    backfill_id  text NOT NULL REFERENCES backfills(id) ON DELETE CASCADE,
    source_id    bigint NOT NULL REFERENCES sources(id),
    via          text NOT NULL CHECK (via IN ('sitemap', 'gdelt', 'search')),
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL CHECK (window_end > window_start),
    target       text NOT NULL,  -- what is read: the site whose sitemaps are walked
    state        text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'discovered', 'fetched', 'failed')),
    fetch_id     bigint REFERENCES feed_fetches(id),
    found        integer,   -- entries dated in the window
    candidates   integer,   -- of which kept for a page fetch
    pages        integer,   -- pages staged so far
    error        text,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (backfill_id, source_id, via, window_start)
);
CREATE INDEX backfill_units_state_idx ON backfill_units (backfill_id, state);
