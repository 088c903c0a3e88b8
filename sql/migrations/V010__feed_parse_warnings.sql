-- V010: a feed that was damaged but partly parsed is a success with a warning, on record.
ALTER TABLE feed_fetches ADD COLUMN parse_warning text;
COMMENT ON COLUMN feed_fetches.parse_warning IS
    'The parser''s complaint when a broken feed still yielded entries (bozo exception)';
