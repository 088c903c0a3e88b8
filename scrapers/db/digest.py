"""The daily digest: per UTC day and language, volume, outlets, top tags and stories.

Recomputed for the last few days on every new-articles event (nichiro_digest DAG), with
one upsert per (day, language): rerunning it changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scrapers.db.connection import Connection

REFRESH_SQL = """
WITH recent AS (
    SELECT a.*, (coalesce(a.published_at, a.first_seen_at) AT TIME ZONE 'UTC')::date AS day
    FROM articles a
    WHERE a.relevant AND coalesce(a.published_at, a.first_seen_at) >= %(since)s
), volume AS (
    SELECT day, coalesce(language, 'und') AS language, count(*) AS articles,
           count(DISTINCT source) AS outlets
    FROM recent GROUP BY 1, 2
), tags AS (
    SELECT day, language, array_agg(tag ORDER BY n DESC, tag) FILTER (WHERE rank <= 5) AS top
    FROM (SELECT r.day, coalesce(r.language, 'und') AS language, t.tag, count(*) AS n,
                 row_number() OVER (PARTITION BY r.day, coalesce(r.language, 'und')
                                    ORDER BY count(*) DESC, t.tag) AS rank
          FROM recent r JOIN article_tags t ON t.article_id = r.id
          WHERE t.tag LIKE 'theme:%%' OR t.tag LIKE 'place:%%' OR t.tag LIKE 'person:%%'
          GROUP BY 1, 2, 3) ranked
    GROUP BY 1, 2
), stories AS (
    SELECT day, language,
           jsonb_agg(jsonb_build_object('id', id, 'title', title, 'source', source, 'url', url)
                     ORDER BY relevance_score DESC, id) FILTER (WHERE rank <= 5) AS top
    FROM (SELECT day, coalesce(language, 'und') AS language, id, title, source, url,
                 relevance_score,
                 row_number() OVER (PARTITION BY day, coalesce(language, 'und')
                                    ORDER BY relevance_score DESC, id) AS rank
          FROM recent) ranked
    GROUP BY 1, 2
)
INSERT INTO daily_digest (day, language, articles, outlets, top_tags, top_stories,
                          refreshed_at)
SELECT v.day, v.language, v.articles, v.outlets, coalesce(t.top, '{}'),
       coalesce(s.top, '[]'), %(now)s
FROM volume v
LEFT JOIN tags t USING (day, language)
LEFT JOIN stories s USING (day, language)
ON CONFLICT (day, language) DO UPDATE SET
    articles = EXCLUDED.articles, outlets = EXCLUDED.outlets, top_tags = EXCLUDED.top_tags,
    top_stories = EXCLUDED.top_stories, refreshed_at = EXCLUDED.refreshed_at
WHERE (daily_digest.articles, daily_digest.outlets, daily_digest.top_tags,
       daily_digest.top_stories)
      IS DISTINCT FROM (EXCLUDED.articles, EXCLUDED.outlets, EXCLUDED.top_tags,
                        EXCLUDED.top_stories)
"""


def refresh_digest(conn: Connection, days: int = 3, now: datetime | None = None) -> int:
    """Recompute the last `days` UTC days; returns how many (day, language) rows changed."""
    now = now or datetime.now(UTC)
    since = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    with conn.cursor() as cur:
        cur.execute(REFRESH_SQL, {"since": since, "now": now})
        changed = cur.rowcount
    conn.commit()
    return int(changed)
