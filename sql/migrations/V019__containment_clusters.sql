-- V019: story clusters match on containment (issue 19). article_minhash.signature now holds
-- the article's whole shingle set (sorted unique little-endian uint32 hashes, num_perm of
-- them, possibly none) instead of 128 MinHash values, and article_lsh_bands holds its anchor
-- shingles (band 0, bucket = the hash) instead of MinHash bands. The table names stay until
-- a rename of their own.
ALTER TABLE article_minhash DROP CONSTRAINT article_minhash_num_perm_check;
ALTER TABLE article_minhash DROP CONSTRAINT article_minhash_check;
ALTER TABLE article_minhash ADD CONSTRAINT article_minhash_num_perm_check CHECK (num_perm >= 0);
ALTER TABLE article_minhash ADD CONSTRAINT article_minhash_signature_check
    CHECK (octet_length(signature) = 4 * num_perm);
COMMENT ON TABLE article_minhash IS
    'Shingle set per article: num_perm sorted unique little-endian uint32 shingle hashes '
    '(scrapers.dedup.minhash.sketch), and how the article was matched.';
COMMENT ON COLUMN article_minhash.num_perm IS 'Number of uint32 hashes in signature';
COMMENT ON COLUMN article_minhash.similarity IS
    'Containment with matched_article_id: shared shingles / shingles of the smaller text';
COMMENT ON TABLE article_lsh_bands IS
    'Anchor index: band 0, bucket = an anchor shingle hash -> articles (by UTC day)';

-- Sketches made by the old method match nothing now; without them the articles are
-- re-sketched and re-clustered by `make relink` (python -m scrapers clusters).
TRUNCATE article_lsh_bands;
DELETE FROM article_minhash;
