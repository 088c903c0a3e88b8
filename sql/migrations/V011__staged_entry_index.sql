-- V011: fetch_articles retries a source's earlier candidate entries that never became an
-- article (a run killed between a feed and its pages); whether an entry is settled is looked
-- up in staged_articles by entry, once per entry and run.
CREATE INDEX staged_articles_entry_idx ON staged_articles (entry_id);
