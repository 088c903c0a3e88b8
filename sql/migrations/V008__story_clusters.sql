-- V008: story clusters (wire copies and light rewrites of one story), MinHash/LSH index.
-- Written by scrapers.clusters.assign_cluster; method and parameters in docs/clusters.md.

-- story_clusters: one row per story; its articles point here through articles.cluster_id.
CREATE TABLE story_clusters (
    id            bigserial   PRIMARY KEY,
    first_seen_at timestamptz NOT NULL,  -- earliest first_seen_at of its articles
    last_seen_at  timestamptz NOT NULL,  -- latest first_seen_at of its articles
    article_count integer     NOT NULL DEFAULT 0 CHECK (article_count >= 0),
    created_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE story_clusters IS
    'One story: near-duplicate articles (wire copies, light rewrites) across outlets.';

ALTER TABLE articles ADD COLUMN cluster_id bigint REFERENCES story_clusters (id);
CREATE INDEX articles_cluster_idx ON articles (cluster_id);
COMMENT ON COLUMN articles.cluster_id IS 'The story cluster (story_clusters.id) of this article';

-- article_minhash: each clustered article's MinHash signature and how it was matched.
CREATE TABLE article_minhash (
    article_id         bigint      PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    num_perm           integer     NOT NULL CHECK (num_perm > 0),
    signature          bytea       NOT NULL CHECK (octet_length(signature) = 4 * num_perm),
    shingle_count      integer     NOT NULL,
    params             text        NOT NULL,  -- e.g. affine32/seed=1/perm=128/k=5/b=32/r=4
    matched_article_id bigint      REFERENCES articles (id) ON DELETE SET NULL,
    similarity         real,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE article_minhash IS
    'MinHash signature per article: num_perm little-endian uint32 values (datasketch affine32).';
COMMENT ON COLUMN article_minhash.matched_article_id IS
    'The most similar earlier article whose cluster this one joined (NULL: opened its cluster)';
COMMENT ON COLUMN article_minhash.similarity IS 'Estimated Jaccard similarity to matched_article_id';

-- article_lsh_bands: the LSH index. Articles sharing a (band, bucket) are candidates.
CREATE TABLE article_lsh_bands (
    band       smallint NOT NULL,
    bucket     bigint   NOT NULL,  -- signed 64-bit blake2b of the band's signature bytes
    article_id bigint   NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    PRIMARY KEY (band, bucket, article_id)
);
-- Re-banding an edited article (and ON DELETE CASCADE) finds its rows by article.
CREATE INDEX article_lsh_bands_article_idx ON article_lsh_bands (article_id);
COMMENT ON TABLE article_lsh_bands IS 'MinHash LSH bands: (band, bucket) -> articles';

-- The analysts' view of clusters. (Kept here until the views move to sql/views.)
CREATE OR REPLACE VIEW story_cluster_summary AS
SELECT c.id                                                         AS cluster_id,
       min(a.first_seen_at)                                         AS first_seen_at,
       max(a.first_seen_at)                                         AS last_seen_at,
       count(*)                                                     AS article_count,
       count(DISTINCT a.source)                                     AS outlet_count,
       array_agg(DISTINCT a.source ORDER BY a.source)               AS outlets,
       coalesce(array_agg(DISTINCT a.language ORDER BY a.language)
                    FILTER (WHERE a.language IS NOT NULL), '{}')    AS languages,
       (array_agg(a.source ORDER BY a.first_seen_at, a.id))[1]      AS first_outlet,
       (array_agg(a.id ORDER BY a.first_seen_at, a.id))[1]          AS first_article_id,
       (array_agg(a.title ORDER BY a.first_seen_at, a.id))[1]       AS first_title
FROM story_clusters c
JOIN articles a ON a.cluster_id = c.id
GROUP BY c.id;
COMMENT ON VIEW story_cluster_summary IS
    'One row per story cluster: first/last seen, article count, outlets, languages, who was first.';
