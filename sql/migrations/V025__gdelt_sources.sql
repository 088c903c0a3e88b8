-- Issue 23: a catalog source of kind 'gdelt' is GDELT's DOC API in one language. Only a
-- backfill reads it (its articles come from outlets that need not be in the catalog); the
-- live ingest never fetches it, and it is no feed whose health is watched.
ALTER TABLE sources DROP CONSTRAINT sources_kind_check;
ALTER TABLE sources ADD CONSTRAINT sources_kind_check
    CHECK (kind IN ('rss', 'search', 'gdelt'));
