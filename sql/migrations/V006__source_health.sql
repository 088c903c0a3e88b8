-- V006: per-source health and scheduling state (Miniflux-style).
ALTER TABLE sources
    ADD COLUMN next_fetch_at     timestamptz,          -- NULL: due now
    ADD COLUMN fetch_interval_s  integer,              -- current adaptive cadence
    ADD COLUMN last_body_hash    text,                 -- skip parsing an unchanged body
    ADD COLUMN last_new_entry_at timestamptz,
    ADD COLUMN disabled_reason   text,                 -- set by health, cleared by re-enable
    ADD COLUMN disabled_at       timestamptz,
    ADD COLUMN last_error_class  text;
COMMENT ON COLUMN sources.enabled IS 'From the catalog (enabled = false there, or removed)';
COMMENT ON COLUMN sources.disabled_reason IS
    'Set when health disables a source (410 Gone, long failure streak); python -m scrapers.sources enable NAME clears it';
ALTER TABLE feed_fetches ADD COLUMN new_entries integer, ADD COLUMN body_unchanged boolean
    NOT NULL DEFAULT false, ADD COLUMN retry_after_s integer;
