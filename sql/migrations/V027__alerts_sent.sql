-- Issue 24: alerts about the news. Each alert has a key (the tag and day of a spike, the
-- event that reached both sides, the source that went silent); one sent is not sent again.
CREATE TABLE alerts_sent (
    kind    text NOT NULL,
    key     text NOT NULL,
    title   text NOT NULL,
    sent_at timestamptz NOT NULL,
    PRIMARY KEY (kind, key)
);
