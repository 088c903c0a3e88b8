-- V014: fewer checks per row on the load path (the set-based load, docs/benchmarks.md).
--
-- article_lsh_bands is a derived look-up table: 42 rows per article, written by COPY in
-- scrapers.clusters.write_plan. Its foreign key to articles was checked row by row (about
-- 60% of that COPY's time, 0.25 s for a run of 721 articles here); all it gave is removal
-- of an article's bands with the article. One statement-level trigger does that now, for a
-- whole DELETE at once. (Bands of a deleted article would match nothing anyway: the
-- candidate query joins article_minhash and articles.)
ALTER TABLE article_lsh_bands DROP CONSTRAINT article_lsh_bands_article_id_fkey;

CREATE FUNCTION delete_article_lsh_bands() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM article_lsh_bands b USING deleted_articles d WHERE b.article_id = d.id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION delete_article_lsh_bands() IS
    'Removes deleted articles'' LSH bands (replaces the foreign key''s ON DELETE CASCADE).';

CREATE TRIGGER articles_delete_lsh_bands
    AFTER DELETE ON articles REFERENCING OLD TABLE AS deleted_articles
    FOR EACH STATEMENT EXECUTE FUNCTION delete_article_lsh_bands();

-- articles (source) is the leading column of articles_source_hash_idx (V003), which serves
-- the same look-ups: one index fewer to maintain per inserted article.
DROP INDEX articles_source_idx;
