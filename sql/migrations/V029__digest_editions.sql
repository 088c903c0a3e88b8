-- Issue 24: a daily digest you could send. Per UTC day and side (the Japanese outlets, the
-- Russian outlets, the international ones), the top events, the tags new that day and the
-- spikes, rendered as Markdown and HTML. Rewritten while the day is recent (idempotent).
CREATE TABLE digest_editions (
    day          date NOT NULL,
    side         text NOT NULL CHECK (side IN ('japan', 'russia', 'international')),
    articles     integer NOT NULL,
    content      jsonb NOT NULL,   -- events, new_tags, spikes
    markdown     text NOT NULL,
    html         text NOT NULL,
    refreshed_at timestamptz NOT NULL,
    PRIMARY KEY (day, side)
);
