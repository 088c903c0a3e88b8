-- Issue 22: a feed entry keeps how much of its time the feed stated, so an article dated
-- by its feed (its page gives no date) says when the zone was assumed, as a page's does.
ALTER TABLE feed_entries ADD COLUMN published_precision text NOT NULL DEFAULT 'datetime'
    CHECK (published_precision IN ('datetime', 'zone_assumed', 'date', 'none'));
UPDATE feed_entries SET published_precision = 'none' WHERE published_at IS NULL;
COMMENT ON COLUMN feed_entries.published_precision IS
    'datetime: a stated time and offset; zone_assumed: read in the source''s timezone; '
    'date: a day only; none: no time';
