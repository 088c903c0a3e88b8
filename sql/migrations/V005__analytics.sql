-- V005: the analysts' side of the database.
--   * schema `analytics`: the views analysts query (defined in sql/views/R__analytics.sql);
--   * role `nichiro_reader`: may read the analytics views and nothing else, write nothing;
--   * search over articles: a per-language tsvector (english / russian / simple) and, for
--     unsegmented Japanese text, pg_trgm indexes that serve LIKE / ILIKE '%...%'.
-- Depends on V001 and V002 only.

CREATE SCHEMA IF NOT EXISTS analytics;
COMMENT ON SCHEMA analytics IS
    'Analysts'' views over the news database; read them as nichiro_reader (docs/queries.md).';

-- Roles are cluster-wide: the role may already exist (another database on the same server,
-- or a concurrent migration of one). Creating it needs CREATEROLE; say so if we lack it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'nichiro_reader') THEN
        BEGIN
            CREATE ROLE nichiro_reader NOLOGIN;
            -- belt and braces for logins: transactions start read-only (the grants are
            -- what actually keep the role from writing)
            ALTER ROLE nichiro_reader SET default_transaction_read_only = on;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created concurrently by another database's migration
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'V005 needs to create the role nichiro_reader but % lacks CREATEROLE',
                    current_user
                    USING HINT = 'As a superuser run: CREATE ROLE nichiro_reader NOLOGIN; '
                                 'then re-run the migrations.';
        END;
    END IF;
END
$$;
COMMENT ON ROLE nichiro_reader IS
    'Nichiro analysts: SELECT on the analytics schema of the news database, nothing else.';

-- Nothing on the raw tables: analysts read them only through the analytics views (which run
-- with their owner's rights). These REVOKEs are no-ops on a fresh database; they undo any
-- grant made by hand.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM nichiro_reader;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM nichiro_reader;
REVOKE CREATE ON SCHEMA public FROM nichiro_reader;
REVOKE ALL ON SCHEMA analytics FROM nichiro_reader;
GRANT USAGE ON SCHEMA analytics TO nichiro_reader;
-- Views and functions created later in `analytics` by the migrating role are readable too.
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO nichiro_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT EXECUTE ON FUNCTIONS TO nichiro_reader;

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
