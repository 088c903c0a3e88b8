-- V005: the analysts' side of the database.
--   * schema `analytics`: the views analysts query (defined in sql/views/R__analytics.sql);
--   * the reader role (`nichiro_reader`) is not made here: creating a role needs CREATEROLE,
--     which a database owner usually lacks. It is a separate, privileged step
--     (`make reader-role`); its grants are sql/reader_grants.sql, applied by every migration
--     run once the role exists (scrapers.migrate);
--   * search over articles: a per-language tsvector (english / russian / simple) and, for
--     unsegmented Japanese text, pg_trgm indexes that serve LIKE / ILIKE '%...%'.
-- Depends on V001 and V002 only.

CREATE SCHEMA IF NOT EXISTS analytics;
COMMENT ON SCHEMA analytics IS
    'Analysts'' views over the news database; read them as nichiro_reader (docs/queries.md).';

-- Full-text search. to_tsvector(regconfig, text) is IMMUTABLE, and the CASE yields regconfig
-- constants, so the column can be generated. Title weighs A, body B (ts_rank prefers titles).
-- Adding a stored generated column rewrites `articles` once, under an exclusive lock.
ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector(CASE language WHEN 'en' THEN 'english'::regconfig
                                        WHEN 'ru' THEN 'russian'::regconfig
                                        ELSE 'simple'::regconfig END, title), 'A')
    || setweight(to_tsvector(CASE language WHEN 'en' THEN 'english'::regconfig
                                           WHEN 'ru' THEN 'russian'::regconfig
                                           ELSE 'simple'::regconfig END, body), 'B')
) STORED;
COMMENT ON COLUMN articles.search_vector IS
    'title (weight A) and body (B) as a tsvector: english for en, russian for ru, simple otherwise';
CREATE INDEX articles_search_idx ON articles USING gin (search_vector);

-- Japanese is not segmented into words, so the tsvector is of little use for it: trigram
-- indexes let LIKE / ILIKE '%北方領土%' (patterns of three or more characters) and the pg_trgm
-- similarity operators use an index on any language's text.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX articles_title_trgm_idx ON articles USING gin (title gin_trgm_ops);
CREATE INDEX articles_body_trgm_idx ON articles USING gin (body gin_trgm_ops);

-- The time an article is dated by in analytics (published_at, else first seen): date-range
-- filters and exports use it.
CREATE INDEX articles_dated_at_idx ON articles ((coalesce(published_at, first_seen_at)));
