-- V016: story-cluster candidates come from a time window (scrapers.clusters.WINDOW_DAYS).
--
-- A new article used to rank every stored article that shares an LSH band with it. Copies
-- of a story arrive within days, but articles on one subject share bands by chance, and
-- those chance matches grow with the archive: in the pipeline benchmark a new Japanese
-- article shares a band with about 11% of the stored Japanese ones (docs/benchmarks.md),
-- so the batch look-up's cost grew with every run. Each band row now carries its
-- article's day (days since 1970-01-01 UTC of articles.first_seen_at), and the primary key
-- puts the day after the bucket: a probe of one key reads only its rows within the window,
-- however large the archive grows.
--
-- The table is rebuilt rather than altered: an added column would go last, and the day
-- fits in the padding after `band` (same row size as before).
CREATE TABLE article_lsh_bands_windowed (
    band       smallint NOT NULL,
    seen_day   integer  NOT NULL,  -- floor(epoch(articles.first_seen_at) / 86400)
    bucket     bigint   NOT NULL,  -- signed 64-bit blake2b of the band's signature bytes
    article_id bigint   NOT NULL
);

INSERT INTO article_lsh_bands_windowed (band, seen_day, bucket, article_id)
SELECT l.band, floor(extract(epoch FROM a.first_seen_at) / 86400)::integer, l.bucket,
       l.article_id
FROM article_lsh_bands l
JOIN articles a ON a.id = l.article_id;

DROP TABLE article_lsh_bands;
ALTER TABLE article_lsh_bands_windowed RENAME TO article_lsh_bands;
ALTER TABLE article_lsh_bands
    ADD CONSTRAINT article_lsh_bands_pkey PRIMARY KEY (band, bucket, seen_day, article_id);
-- Re-banding an edited article and the delete trigger (V014) find its rows by article.
CREATE INDEX article_lsh_bands_article_idx ON article_lsh_bands (article_id);
COMMENT ON TABLE article_lsh_bands IS
    'MinHash LSH bands: (band, bucket) -> articles, with each article''s day for the window';
COMMENT ON COLUMN article_lsh_bands.seen_day IS
    'Days since 1970-01-01 UTC of the article''s first_seen_at: candidates are looked up '
    'within scrapers.clusters.WINDOW_DAYS of the new article''s day';
