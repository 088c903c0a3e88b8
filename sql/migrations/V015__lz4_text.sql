-- V015: compress stored article text with lz4 instead of pglz, where the server has it.
--
-- Article bodies (and their search copies, revisions and staged records) are a few KB each,
-- over the 2 KB at which PostgreSQL compresses a value. pglz compressing them was about a
-- fifth of inserting a run's articles (the load's INSERT of 687 articles from their staged
-- records: 0.073 s with pglz, 0.057 s with lz4, docs/benchmarks.md); lz4 also decompresses
-- several times faster, which analysts' full scans of bodies feel. Only values written from
-- now on use it: stored values stay as they are (both kinds read the same).
--
-- lz4 is optional in a PostgreSQL build (the Debian/Ubuntu packages and the official Docker
-- image have it): without it, this changes nothing and the columns keep pglz.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings
               WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE articles
            ALTER COLUMN title SET COMPRESSION lz4,
            ALTER COLUMN body SET COMPRESSION lz4,
            ALTER COLUMN summary SET COMPRESSION lz4;
        ALTER TABLE article_search
            ALTER COLUMN title SET COMPRESSION lz4,
            ALTER COLUMN body SET COMPRESSION lz4;
        ALTER TABLE article_revisions
            ALTER COLUMN body SET COMPRESSION lz4;
        ALTER TABLE staged_articles
            ALTER COLUMN record SET COMPRESSION lz4;
    ELSE
        RAISE NOTICE 'this PostgreSQL has no lz4: article text stays pglz-compressed';
    END IF;
END
$$;
