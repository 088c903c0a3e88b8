-- Analysts' views (repeatable: re-applied whenever this file changes).
-- A view only gains columns at the end; renames go through a versioned migration.

CREATE OR REPLACE VIEW daily_article_counts AS
SELECT (coalesce(published_at, first_seen_at) AT TIME ZONE 'UTC')::date AS day,
       source,
       language,
       count(*) AS articles
FROM articles
WHERE relevant
GROUP BY 1, 2, 3;
COMMENT ON VIEW daily_article_counts IS 'Relevant articles per UTC day, outlet and language.';

CREATE OR REPLACE VIEW source_health AS
SELECT s.name,
       s.language,
       s.enabled,
       s.last_success_at,
       s.last_fetched_at,
       s.consecutive_failures,
       s.last_error,
       (SELECT count(*) FROM articles a
         WHERE a.source_id = s.id AND a.first_seen_at > now() - interval '1 day') AS articles_24h,
       (SELECT count(*) FROM articles a
         WHERE a.source_id = s.id AND a.first_seen_at > now() - interval '7 days') AS articles_7d,
       CASE WHEN NOT s.enabled THEN 'off (catalog)'
            WHEN s.disabled_reason IS NOT NULL THEN 'disabled'
            WHEN s.consecutive_failures > 0 THEN 'failing'
            WHEN s.last_success_at IS NULL THEN 'new'
            ELSE 'ok' END AS status,
       s.next_fetch_at,
       s.fetch_interval_s,
       s.disabled_reason,
       s.last_error_class,
       s.id AS source_id
FROM sources s
WHERE s.kind <> 'gdelt';  -- read by backfills only: no feed whose health is watched
COMMENT ON VIEW source_health IS
    'One row per feed: status, last success, failure streak, recent yield. The one '
    'definition of a source''s status: the Nichiro page, python -m scrapers sources and '
    'analytics.source_health all read it.';

CREATE OR REPLACE VIEW weekly_tag_counts AS
SELECT date_trunc('week', coalesce(a.published_at, a.first_seen_at) AT TIME ZONE 'UTC')::date
           AS week,
       t.kind,
       t.tag,
       a.language,
       count(*) AS articles
FROM article_tags t
JOIN articles a ON a.id = t.article_id
WHERE a.relevant
GROUP BY 1, 2, 3, 4;
COMMENT ON VIEW weekly_tag_counts IS 'Relevant articles per ISO week (Monday, UTC), tag and language.';

CREATE OR REPLACE VIEW recently_edited_articles AS
SELECT a.id AS article_id,
       a.source,
       a.title AS current_title,
       r.title AS previous_title,
       r.revision,
       r.replaced_at AS edited_at,
       r.cause,
       r.diff_summary,
       a.url
FROM article_revisions r
JOIN articles a ON a.id = r.article_id
ORDER BY r.replaced_at DESC;
COMMENT ON VIEW recently_edited_articles IS 'Edits seen on later fetches, newest first, with a diff summary.';
