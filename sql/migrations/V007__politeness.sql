-- V007: politeness state shared by every task: robots.txt cache and per-host request slots.
CREATE TABLE robots_cache (
    host        text        PRIMARY KEY,   -- scheme://host[:port]
    fetched_at  timestamptz NOT NULL,
    status      integer,                   -- HTTP status of /robots.txt, NULL if unreachable
    body        text        NOT NULL DEFAULT ''
);
COMMENT ON TABLE robots_cache IS 'robots.txt per host, re-read after NICHIRO_ROBOTS_TTL_HOURS';

-- host_slots: the earliest time the next request to a host may start. Every fetcher
-- reserves its slot with one atomic UPDATE, so the per-host delay holds across parallel
-- mapped tasks and worker processes.
CREATE TABLE host_slots (
    host             text        PRIMARY KEY,
    next_allowed_at  timestamptz NOT NULL
);
