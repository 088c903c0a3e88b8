-- V012: search data leaves `articles` for its own table, `article_search`.
-- Computing the generated tsvector and the trigram index entries made loading articles two to
-- three times slower (a COPY of 721 articles into a twin of `articles`: 1.2-1.7 s with them,
-- 0.57 s without; a larger gin_pending_list_limit does not help, the cost is computing the
-- entries). Search rows are now written after the articles are committed, set-based, by
-- scrapers.search.index_pending (the load task calls it right after its commit;
-- `python -m scrapers.search` catches up by hand). Until then a new or edited article is
-- stored but not yet searchable under its new text.
-- The analytics views are re-created on top of it by sql/views/R__analytics.sql.

-- How an article's text becomes its tsvector (unchanged from V005): title weighs A, body B;
-- english for en, russian for ru, simple otherwise. One definition, used by index_pending.
-- Changing it is a new migration that replaces this function and marks the rows stale
-- (UPDATE article_search SET content_hash = '') so the next index_pending rewrites them.
CREATE FUNCTION article_search_vector(language text, title text, body text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN setweight(to_tsvector(CASE language WHEN 'en' THEN 'english'::regconfig
                                           WHEN 'ru' THEN 'russian'::regconfig
                                           ELSE 'simple'::regconfig END, title), 'A')
    || setweight(to_tsvector(CASE language WHEN 'en' THEN 'english'::regconfig
                                           WHEN 'ru' THEN 'russian'::regconfig
                                           ELSE 'simple'::regconfig END, body), 'B');
COMMENT ON FUNCTION article_search_vector(text, text, text) IS
    'title (weight A) and body (B) as a tsvector: english for en, russian for ru, simple otherwise';

-- One row per indexed article. content_hash and language are the article's when the row was
-- written: a row whose pair differs from the article's is stale (the loader changes
-- content_hash whenever it changes title or body). title and body are copies, because a
-- trigram index can only cover columns of its own table.
CREATE TABLE article_search (
    article_id    bigint      PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    content_hash  text        NOT NULL,
    language      text,
    title         text        NOT NULL,
    body          text        NOT NULL,
    search_vector tsvector    NOT NULL,
    indexed_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE article_search IS
    'Search data per article (tsvector, trigram-indexed title/body), written after each load '
    'by scrapers.search.index_pending; stale when content_hash/language differ from articles.';

-- Existing articles: their stored vector is what article_search_vector computes, so copy it
-- rather than compute it again. Indexes are built after the fill (one sort, not N inserts).
INSERT INTO article_search (article_id, content_hash, language, title, body, search_vector)
SELECT id, content_hash, language, title, body, search_vector
FROM articles;

CREATE INDEX article_search_vector_idx ON article_search USING gin (search_vector);
-- Japanese is not segmented into words: LIKE / ILIKE '%北方領土%' (three or more characters)
-- and the pg_trgm similarity operators use these (V005 created the extension).
CREATE INDEX article_search_title_trgm_idx ON article_search USING gin (title gin_trgm_ops);
CREATE INDEX article_search_body_trgm_idx ON article_search USING gin (body gin_trgm_ops);

-- analytics.articles shows articles.search_vector, so it goes before the column does.
-- Nothing else depends on it (analytics.search is a LANGUAGE sql function: its body is not
-- tracked). R__analytics.sql re-creates the view, reading the vector from article_search; it
-- changed together with this file, so the same migrate run re-applies it. Forgetting its
-- checksum is a safety net: should it not have changed, the next run re-applies it.
DROP VIEW IF EXISTS analytics.articles;
DELETE FROM schema_migrations WHERE version = 'R:analytics';
ALTER TABLE articles DROP COLUMN search_vector;  -- drops articles_search_idx with it
DROP INDEX articles_title_trgm_idx;
DROP INDEX articles_body_trgm_idx;
