-- V020: events across outlets and languages (issue 19). A story (story_clusters) joins
-- copies of one text; an event joins different reports of one happening, in any language
-- (scrapers.dedup.events decides, scrapers.dedup.event_links writes).

CREATE TABLE event_threads (
    id            bigserial   PRIMARY KEY,
    first_seen_at timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    article_count integer     NOT NULL DEFAULT 0,
    languages     text[]      NOT NULL DEFAULT '{}',
    outlets       text[]      NOT NULL DEFAULT '{}',
    headlines     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    evidence      jsonb       NOT NULL DEFAULT '[]'::jsonb,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE event_threads IS
    'One row per event: reports of one happening across outlets and languages.';
COMMENT ON COLUMN event_threads.first_seen_at IS 'When we first saw any of its reports';
COMMENT ON COLUMN event_threads.headlines IS
    'Language -> the headline of its earliest report in that language';
COMMENT ON COLUMN event_threads.evidence IS
    'The evidence (tags, numbers, dates) at least two of its reports share, most shared first';

ALTER TABLE articles ADD COLUMN event_id bigint
    REFERENCES event_threads (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX articles_event_id_idx ON articles (event_id) WHERE event_id IS NOT NULL;
COMMENT ON COLUMN articles.event_id IS 'The event this report belongs to (event_threads)';

CREATE TABLE article_event_evidence (
    article_id         bigint      PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    event_at           timestamptz NOT NULL,
    evidence           jsonb       NOT NULL,
    params             text        NOT NULL,
    matched_article_id bigint      REFERENCES articles (id) ON DELETE SET NULL,
    score              real,
    shared             text[]      NOT NULL DEFAULT '{}',
    linked_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX article_event_evidence_at_idx ON article_event_evidence (event_at);
COMMENT ON TABLE article_event_evidence IS
    'Per linked article: its evidence (feature -> weight), the time the decision used '
    '(published, else first seen), and the report it matched best with the shared evidence.';
