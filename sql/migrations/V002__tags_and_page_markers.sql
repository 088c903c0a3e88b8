-- V002: analyst tags (actors, places, themes) and page-quality markers.

-- article_tags: normalised tags from the relevance rules, the same across languages
-- ("person:sergei_lavrov" for Lavrov, Лавров and ラブロフ). Replaced when an article changes.
CREATE TABLE article_tags (
    article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag        text   NOT NULL CHECK (tag ~ '^[a-z]+:[a-z0-9_]+$'),
    kind       text   GENERATED ALWAYS AS (split_part(tag, ':', 1)) STORED,
    PRIMARY KEY (article_id, tag)
);
CREATE INDEX article_tags_tag_idx ON article_tags (tag);
COMMENT ON TABLE article_tags IS 'Analyst tags per article: theme:, place:, person:, org:.';

ALTER TABLE articles
    ADD COLUMN published_precision text NOT NULL DEFAULT 'datetime'
        CHECK (published_precision IN ('datetime', 'date', 'none')),
    ADD COLUMN truncated boolean NOT NULL DEFAULT false,
    ADD COLUMN paywalled boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN articles.published_precision IS
    'datetime: published_at has a stated time; date: only the day is known (00:00 UTC); none';
COMMENT ON COLUMN articles.truncated IS 'The body is shorter than a complete article (teaser)';
COMMENT ON COLUMN articles.paywalled IS 'The page says the rest is behind a paywall or login';
