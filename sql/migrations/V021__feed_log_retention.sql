-- V021: feed_entries and feed_fetches are pruned after a retention period (issue 20,
-- scrapers.db.store.prune_feed_log); these indexes make each load's prune a range scan of
-- what expired since the last one.
CREATE INDEX feed_entries_last_seen_idx ON feed_entries (last_seen_at);
CREATE INDEX feed_fetches_started_idx ON feed_fetches (started_at);
