-- V003: edit history, URL aliases and raw pages.

-- article_revisions: the previous version of an article each time its title or body changed.
CREATE TABLE article_revisions (
    id            bigserial   PRIMARY KEY,
    article_id    bigint      NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    revision      integer     NOT NULL,          -- 1 = the first stored version
    title         text        NOT NULL,
    body          text        NOT NULL,
    content_hash  text        NOT NULL,
    seen_from     timestamptz NOT NULL,          -- when this version was stored
    replaced_at   timestamptz NOT NULL,          -- when a newer version replaced it
    cause         text        NOT NULL DEFAULT 'edit' CHECK (cause IN ('edit', 'reprocess')),
    diff_summary  text        NOT NULL,          -- e.g. "title changed; +1/-0 paragraphs"
    UNIQUE (article_id, revision)
);
CREATE INDEX article_revisions_time_idx ON article_revisions (replaced_at DESC);
COMMENT ON TABLE article_revisions IS 'Earlier versions of articles: one row per replaced version.';

-- article_urls: every URL known to lead to an article (feed links, redirects, rel=canonical,
-- search-feed stubs), so a variant is recognised without fetching it again.
CREATE TABLE article_urls (
    url         text        PRIMARY KEY,         -- canonical form
    article_id  bigint      NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    kind        text        NOT NULL CHECK (kind IN ('canonical', 'link', 'redirect',
                                                     'search_stub', 'previous')),
    first_seen  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX article_urls_article_idx ON article_urls (article_id);
INSERT INTO article_urls (url, article_id, kind) SELECT url, id, 'canonical' FROM articles;

-- raw_pages: the fetched HTML of each stored article, compressed, for re-extraction.
CREATE TABLE raw_pages (
    article_id    bigint      PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    url           text        NOT NULL,          -- the URL the bytes came from
    fetched_at    timestamptz NOT NULL,
    content_type  text,
    size_bytes    integer     NOT NULL,
    body_gz       bytea       NOT NULL
);
CREATE INDEX raw_pages_fetched_idx ON raw_pages (fetched_at);
COMMENT ON TABLE raw_pages IS 'gzip of the fetched HTML per article (retention: NICHIRO_RAW_RETENTION_DAYS)';

-- Staged page bytes travel with the staged record until loading moves them to raw_pages.
ALTER TABLE staged_articles ADD COLUMN raw_gz bytea, ADD COLUMN raw_url text,
    ADD COLUMN raw_content_type text;
CREATE INDEX articles_source_hash_idx ON articles (source, content_hash, first_seen_at);
