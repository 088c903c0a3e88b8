-- Issue 22: a page or feed time without an offset is read in its source's zone.
-- sources.timezone is the catalog's `timezone` (default by language, scrapers/catalog.py);
-- rows from before this migration get their language's default, as the next catalog
-- sync would set it. A time read in an assumed zone says so in published_precision.
ALTER TABLE sources ADD COLUMN timezone text NOT NULL DEFAULT 'UTC';
UPDATE sources SET timezone = CASE language WHEN 'ja' THEN 'Asia/Tokyo'
                                            WHEN 'ru' THEN 'Europe/Moscow' ELSE 'UTC' END;
COMMENT ON COLUMN sources.timezone IS
    'IANA zone a time without an offset is read in (catalog timezone, else by language)';

ALTER TABLE articles DROP CONSTRAINT IF EXISTS articles_published_precision_check;
ALTER TABLE articles ADD CONSTRAINT articles_published_precision_check
    CHECK (published_precision IN ('datetime', 'zone_assumed', 'date', 'none'));
COMMENT ON COLUMN articles.published_precision IS
    'datetime: published_at has a stated time and offset; zone_assumed: a stated time without '
    'an offset, read in the source''s timezone; date: only the day is known (00:00 UTC); none';
