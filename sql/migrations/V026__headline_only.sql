-- Issue 23: a search-feed item whose link could not be resolved to the publisher's page
-- (Google News' opaque ids) is kept as a headline-only article, flagged, rather than
-- dropped: its headline, publisher and time, and no body.
ALTER TABLE articles ADD COLUMN headline_only boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN articles.headline_only IS
    'A search-feed item whose page could not be reached without asking the search engine: '
    'headline, publisher and time only, no body';
