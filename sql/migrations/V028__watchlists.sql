-- Issue 24: an analyst's saved searches. A watch is a term (searched the way
-- analytics.search searches its language), a tag, or both, optionally in one language and
-- among given outlets; its new matches are alerted (nichiro_alerts).
CREATE TABLE watchlists (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (name <> ''),
    term       text CHECK (term <> ''),
    tag        text CHECK (tag ~ '^[a-z]+:[a-z0-9_]+$'),
    language   text CHECK (language IN ('en', 'ja', 'ru')),
    outlets    text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    CHECK (term IS NOT NULL OR tag IS NOT NULL)
);
