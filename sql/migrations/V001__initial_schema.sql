-- V001: the walking skeleton's schema.
-- sources: the catalog as last loaded, plus per-source HTTP state for conditional GET.
CREATE TABLE sources (
    id                   bigserial PRIMARY KEY,
    name                 text        NOT NULL UNIQUE,
    url                  text        NOT NULL,
    language             text        NOT NULL CHECK (language IN ('en', 'ja', 'ru')),
    kind                 text        NOT NULL DEFAULT 'rss' CHECK (kind IN ('rss', 'search')),
    outlet               text        NOT NULL,
    enabled              boolean     NOT NULL DEFAULT true,
    etag                 text,
    last_modified        text,
    last_fetched_at      timestamptz,
    last_success_at      timestamptz,
    consecutive_failures integer     NOT NULL DEFAULT 0,
    last_error           text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE sources IS 'One row per feed in the source catalog; HTTP state for conditional GET.';

-- feed_fetches: one row per fetch attempt of a source's feed (a log: never updated after finish).
CREATE TABLE feed_fetches (
    id             bigserial PRIMARY KEY,
    source_id      bigint      NOT NULL REFERENCES sources (id),
    run_id         text        NOT NULL,
    url            text        NOT NULL,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    http_status    integer,
    not_modified   boolean     NOT NULL DEFAULT false,
    bytes          bigint,
    entries        integer,
    relevant       integer,
    skipped        integer,
    error_class    text,
    error          text
);
CREATE INDEX feed_fetches_run_idx ON feed_fetches (run_id, source_id);
CREATE INDEX feed_fetches_source_time_idx ON feed_fetches (source_id, started_at DESC);
COMMENT ON TABLE feed_fetches IS 'One row per feed fetch attempt: status, size, entry counts, error.';

-- feed_entries: every entry ever seen in a feed, with its title/summary relevance.
CREATE TABLE feed_entries (
    id              bigserial PRIMARY KEY,
    source_id       bigint      NOT NULL REFERENCES sources (id),
    guid            text        NOT NULL,
    link            text        NOT NULL,
    url             text        NOT NULL,  -- canonical form of link
    title           text        NOT NULL,
    summary         text        NOT NULL DEFAULT '',
    published_at    timestamptz,
    outlet          text,
    fingerprint     text        NOT NULL,
    relevance_score real        NOT NULL,
    candidate       boolean     NOT NULL,
    matched_terms   jsonb       NOT NULL DEFAULT '[]',
    first_seen_at   timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    last_fetch_id   bigint      REFERENCES feed_fetches (id),
    UNIQUE (source_id, guid)
);
CREATE INDEX feed_entries_url_idx ON feed_entries (url);
CREATE INDEX feed_entries_fetch_idx ON feed_entries (last_fetch_id);

-- articles: the analysts' table. One row per canonical URL, latest content.
CREATE TABLE articles (
    id              bigserial PRIMARY KEY,
    url             text        NOT NULL UNIQUE,  -- canonical URL
    original_url    text        NOT NULL,         -- the link as the feed gave it
    title           text        NOT NULL,
    body            text        NOT NULL,
    summary         text        NOT NULL DEFAULT '',
    authors         text[]      NOT NULL DEFAULT '{}',
    published_at    timestamptz,
    fetched_at      timestamptz NOT NULL,         -- when this content was stored
    first_seen_at   timestamptz NOT NULL,
    language        text,
    source          text        NOT NULL,         -- outlet name
    source_id       bigint      REFERENCES sources (id),  -- the feed that found it first
    guid            text,
    tags            text[]      NOT NULL DEFAULT '{}',
    captions        text[]      NOT NULL DEFAULT '{}',
    relevance_score real        NOT NULL,
    relevant        boolean     NOT NULL,
    matched_terms   jsonb       NOT NULL DEFAULT '[]',
    content_hash    text        NOT NULL,
    etag            text,
    last_modified   text,
    updated_count   integer     NOT NULL DEFAULT 0
);
CREATE INDEX articles_published_idx ON articles (published_at DESC);
CREATE INDEX articles_source_idx ON articles (source);
CREATE INDEX articles_content_hash_idx ON articles (content_hash);
COMMENT ON TABLE articles IS 'Deduplicated, cleaned articles: one row per canonical URL, latest version.';
COMMENT ON COLUMN articles.matched_terms IS 'Relevance evidence: [{term, field, group, weight}]';

-- staged_articles: what one run's page fetches produced, waiting for (or done with) loading.
-- XCom carries only ids and counts; page-derived records travel through this table.
CREATE TABLE staged_articles (
    id             bigserial PRIMARY KEY,
    run_id         text        NOT NULL,
    source_id      bigint      NOT NULL REFERENCES sources (id),
    entry_id       bigint      REFERENCES feed_entries (id),
    url            text        NOT NULL,  -- canonical URL of the entry link
    status         text        NOT NULL CHECK (status IN
                       ('extracted', 'not_modified', 'known', 'rejected', 'error')),
    reason         text,
    record         jsonb,
    outcome        text CHECK (outcome IN ('new', 'updated', 'unchanged', 'duplicate')),
    article_id     bigint      REFERENCES articles (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    loaded_at      timestamptz,
    UNIQUE (run_id, source_id, url)
);
-- Which stored article an entry became (a page's rel=canonical may differ from the entry link).
ALTER TABLE feed_entries ADD COLUMN article_id bigint REFERENCES articles (id);
CREATE INDEX feed_entries_article_idx ON feed_entries (article_id);

CREATE INDEX staged_articles_pending_idx ON staged_articles (run_id) WHERE loaded_at IS NULL;
