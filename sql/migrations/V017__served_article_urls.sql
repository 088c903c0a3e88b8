-- V017: articles.url is the URL an analyst can open; the dedup key lives in article_urls.
--
-- articles.url used to be the dedup key itself, which folds http into https: a story from a
-- site that answers only on http was stored as https://..., a link that does not open.
-- From now on the load stores the URL the page was served from after redirects (or its
-- rel=canonical on the same site), normalised but with its own scheme
-- (scrapers.urls.normalize_url); look-ups and uniqueness go through article_urls, whose
-- keys stay scheme-folded (scrapers.urls.canonicalize_url). Every article already has its
-- key there (V003 and every load since), so no key moves.
COMMENT ON COLUMN articles.url IS
    'Where the article opens: the URL it was served from after redirects, or its '
    'rel=canonical on the same site; normalised, scheme as served. Not a dedup key: see '
    'article_urls.';
COMMENT ON COLUMN article_urls.url IS
    'Dedup key: a URL leading to the article, canonicalised with http folded into https '
    '(scrapers.urls.canonicalize_url).';

-- Stored stories whose kept raw page was served over plain http from the very host of the
-- stored https URL get back the scheme they answered on. Only the scheme changes, so the
-- key (already in article_urls) stays the same; a story without a kept page keeps its URL.
UPDATE articles a
SET url = 'http://' || substr(a.url, 9)
FROM raw_pages r
WHERE r.article_id = a.id
  AND a.url LIKE 'https://%'
  AND lower(r.url) LIKE 'http://%'
  AND lower(split_part(r.url, '/', 3)) = split_part(a.url, '/', 3)
  AND NOT EXISTS (SELECT 1 FROM articles b WHERE b.url = 'http://' || substr(a.url, 9));
