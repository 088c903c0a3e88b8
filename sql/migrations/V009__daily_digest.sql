-- V009: the daily digest that nichiro_digest refreshes whenever new articles land.
CREATE TABLE daily_digest (
    day           date        NOT NULL,
    language      text        NOT NULL,
    articles      integer     NOT NULL,
    outlets       integer     NOT NULL,
    top_tags      text[]      NOT NULL DEFAULT '{}',
    top_stories   jsonb       NOT NULL DEFAULT '[]',   -- [{id, title, source, url}]
    refreshed_at  timestamptz NOT NULL,
    PRIMARY KEY (day, language)
);
COMMENT ON TABLE daily_digest IS 'Per UTC day and language: volume, outlets, top tags, top stories.';
