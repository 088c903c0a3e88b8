-- The analytics schema (repeatable: re-applied whenever this file changes, after the
-- versioned migrations). Schema and role come from V005__analytics.sql; the search data
-- (table article_search and its indexes) from V012__search_table.sql.
-- A view only gains columns at the end; renames, removals and type changes (including the
-- result columns of analytics.search) go through a versioned migration.
-- Counting views count relevant articles only and date an article by published_at, else
-- by when we first saw it (`dated_at`), in UTC; weeks start on Monday.

CREATE OR REPLACE VIEW analytics.articles AS
SELECT a.id,
       a.url,
       a.title,
       a.body,
       a.summary,
       a.authors,
       a.published_at,
       a.published_precision,
       a.first_seen_at,
       a.language,
       a.source,
       a.relevance_score,
       a.matched_terms,
       a.truncated,
       a.paywalled,
       a.tags,
       ARRAY(SELECT t.tag FROM public.article_tags t WHERE t.article_id = a.id ORDER BY t.tag)
           AS analyst_tags,
       coalesce(a.published_at, a.first_seen_at) AS dated_at,
       a.relevant,
       a.original_url,
       a.fetched_at,
       a.updated_count,
       a.captions,
       s.search_vector,
       a.cluster_id,
       a.event_id,
       a.discovered_via,
       a.headline_only
FROM public.articles a
-- Search rows are written just after each load (scrapers.db.search.index_pending): until then a
-- new article's search_vector is NULL and an edited one's still describes its previous text.
LEFT JOIN public.article_search s ON s.article_id = a.id;
COMMENT ON VIEW analytics.articles IS
    'One row per stored article, latest version; url: where it opens (the scheme it was '
    'served on). tags: the publisher''s own '
    'keywords; analyst_tags: ours (kind:name, same across languages). dated_at: published_at, '
    'else first_seen_at. search_vector: title+body tsvector in the article''s language config, '
    'written just after each load (NULL until then). cluster_id: its story (copies of one '
    'text, analytics.story_clusters); event_id: its event (reports of one happening in any '
    'language, analytics.events). discovered_via: how it was first found (feed; sitemap, '
    'gdelt or search by a backfill). headline_only: a search item whose page could not be '
    'reached without asking the search engine (headline, outlet and time, no body).';

-- The text search runs on: the title and body as last indexed, trigram-indexed, so
-- LIKE / ILIKE '%...%' on them is served by an index (analytics.articles has none).
CREATE OR REPLACE VIEW analytics.article_search AS
SELECT s.article_id,
       s.title,
       s.body,
       s.search_vector,
       s.indexed_at
FROM public.article_search s;
COMMENT ON VIEW analytics.article_search IS
    'Per article, the title and body as last indexed for search (just after each load), with '
    'trigram indexes for LIKE/ILIKE ''%...%'' and the tsvector. Join analytics.articles on id.';

CREATE OR REPLACE VIEW analytics.daily_counts AS
SELECT (coalesce(a.published_at, a.first_seen_at) AT TIME ZONE 'UTC')::date AS day,
       a.source,
       a.language,
       count(*) AS n
FROM public.articles a
WHERE a.relevant
GROUP BY 1, 2, 3;
COMMENT ON VIEW analytics.daily_counts IS 'Relevant articles per UTC day, outlet and language.';

CREATE OR REPLACE VIEW analytics.weekly_top_terms AS
SELECT week, language, term, n,
       rank() OVER (PARTITION BY week, language ORDER BY n DESC) AS rank
FROM (
    SELECT date_trunc('week', coalesce(a.published_at, a.first_seen_at) AT TIME ZONE 'UTC')::date
               AS week,
           a.language,
           e.term,
           count(DISTINCT a.id) AS n
    FROM public.articles a
    CROSS JOIN LATERAL (
        SELECT DISTINCT m ->> 'term' AS term
        FROM jsonb_array_elements(a.matched_terms) m
        WHERE m ->> 'term' IS NOT NULL
    ) e
    WHERE a.relevant
    GROUP BY 1, 2, 3
) t;
COMMENT ON VIEW analytics.weekly_top_terms IS
    'Relevance rule terms per ISO week (Monday, UTC) and language: n = articles that matched '
    'the term (title, summary or body); rank 1 = most frequent that week.';

CREATE OR REPLACE VIEW analytics.weekly_tag_counts AS
SELECT date_trunc('week', coalesce(a.published_at, a.first_seen_at) AT TIME ZONE 'UTC')::date
           AS week,
       t.kind,
       t.tag,
       a.language,
       count(*) AS n
FROM public.article_tags t
JOIN public.articles a ON a.id = t.article_id
WHERE a.relevant
GROUP BY 1, 2, 3, 4;
COMMENT ON VIEW analytics.weekly_tag_counts IS
    'Relevant articles per ISO week (Monday, UTC), tag (kind:name) and language.';

CREATE OR REPLACE VIEW analytics.source_health AS
SELECT s.name AS source,
       s.outlet,
       s.language,
       s.kind,
       s.enabled,
       h.status,  -- public.source_health's, the one definition (R__analyst_views.sql)
       s.last_success_at,
       s.last_fetched_at,
       s.consecutive_failures,
       s.last_error,
       e.last_error_at,
       h.articles_7d
FROM public.sources s
JOIN public.source_health h ON h.source_id = s.id
LEFT JOIN LATERAL (
    SELECT max(f.started_at) AS last_error_at
    FROM public.feed_fetches f
    WHERE f.source_id = s.id AND f.error IS NOT NULL
) e ON true;
COMMENT ON VIEW analytics.source_health IS
    'One row per feed: status (ok, new, failing, disabled by health, off (catalog)), last '
    'success, last error (and when), failure streak, articles first seen in the last 7 days.';

-- Ranked search over analytics.articles, each language its own way:
--   en / ru: websearch_to_tsquery with the english / russian configuration (stemming;
--            "quotes" for phrases, OR, -word); rank = ts_rank (title hits weigh more);
--   ja:      the trimmed query as one substring of the indexed title or body
--            (analytics.article_search, ILIKE, served by the trigram indexes for three or
--            more characters); rank = 1 for a title hit plus 0.1 per occurrence in the body
--            (at most 1);
--   other or no language: websearch_to_tsquery('simple', ...).
-- lang NULL searches every language. Ranks are comparable within a language only. It finds
-- what has been indexed (scrapers.db.search.index_pending, run just after each load).
-- SECURITY INVOKER, and it reads only analytics views, so it gives nothing the caller's
-- role cannot already read. LANGUAGE sql + STABLE + a single SELECT: PostgreSQL inlines it,
-- so the planner sees the index conditions.
CREATE OR REPLACE FUNCTION analytics.search(query text, lang text DEFAULT NULL)
RETURNS TABLE (id bigint, url text, title text, source text, language text,
               published_at timestamptz, first_seen_at timestamptz, rank real)
LANGUAGE sql STABLE PARALLEL SAFE SECURITY INVOKER
AS $fn$
    SELECT a.id, a.url, a.title, a.source, a.language, a.published_at, a.first_seen_at,
           ts_rank(a.search_vector, websearch_to_tsquery('english', query)) AS rank
    FROM analytics.articles a
    WHERE (lang IS NULL OR lang = 'en') AND a.language = 'en'
      AND a.search_vector @@ websearch_to_tsquery('english', query)
    UNION ALL
    SELECT a.id, a.url, a.title, a.source, a.language, a.published_at, a.first_seen_at,
           ts_rank(a.search_vector, websearch_to_tsquery('russian', query)) AS rank
    FROM analytics.articles a
    WHERE (lang IS NULL OR lang = 'ru') AND a.language = 'ru'
      AND a.search_vector @@ websearch_to_tsquery('russian', query)
    UNION ALL
    SELECT a.id, a.url, a.title, a.source, a.language, a.published_at, a.first_seen_at,
           (CASE WHEN s.title ILIKE p.pattern THEN 1 ELSE 0 END
            + least(1.0, 0.1 * (length(lower(s.body))
                                - length(replace(lower(s.body), p.needle, '')))
                              / length(p.needle)))::real AS rank
    FROM analytics.articles a
    JOIN analytics.article_search s ON s.article_id = a.id,
         (SELECT '%' || replace(replace(replace(btrim(query), '\', '\\'), '%', '\%'), '_', '\_')
                     || '%' AS pattern,
                 lower(btrim(query)) AS needle) p
    WHERE (lang IS NULL OR lang = 'ja') AND a.language = 'ja' AND p.needle <> ''
      AND (s.title ILIKE p.pattern OR s.body ILIKE p.pattern)
    UNION ALL
    SELECT a.id, a.url, a.title, a.source, a.language, a.published_at, a.first_seen_at,
           ts_rank(a.search_vector, websearch_to_tsquery('simple', query)) AS rank
    FROM analytics.articles a
    WHERE (lang IS NULL OR (lang NOT IN ('en', 'ru', 'ja') AND lang = a.language))
      AND (a.language IS NULL OR a.language NOT IN ('en', 'ru', 'ja'))
      AND a.search_vector @@ websearch_to_tsquery('simple', query)
    ORDER BY rank DESC, published_at DESC NULLS LAST, id
$fn$;
COMMENT ON FUNCTION analytics.search(text, text) IS
    'Ranked article search: english/russian stemming for en/ru, substring (trigram) for ja. '
    'Example: SELECT * FROM analytics.search(''peace treaty negotiations'', ''en'') LIMIT 20';

-- Grants last (idempotent: this file re-runs). V005 set default privileges for objects the
-- migrating role creates later; these cover everything that exists now.
-- Story clusters (wire copies and light rewrites of one story): who had it, who was first.
CREATE OR REPLACE VIEW analytics.story_clusters AS
SELECT cluster_id, first_seen_at, last_seen_at, article_count, outlet_count, outlets,
       languages, first_outlet, first_article_id, first_title
FROM public.story_cluster_summary;
COMMENT ON VIEW analytics.story_clusters IS
    'One row per story cluster: first/last seen, article count, outlets, languages, first outlet.';

-- Edits seen on later fetches, newest first.
-- (From the base tables: this file is applied before R__analyst_views.sql.)
CREATE OR REPLACE VIEW analytics.recent_edits AS
SELECT a.id AS article_id, a.source, a.title AS current_title, r.title AS previous_title,
       r.revision, r.replaced_at AS edited_at, r.cause, r.diff_summary, a.url
FROM public.article_revisions r
JOIN public.articles a ON a.id = r.article_id;

-- Events: reports of one happening across outlets and languages (scrapers.dedup.events).
-- Per event and side: when each language first reported it, and the lag between Japan's
-- and Russia's press. Times are when the report was published, else first seen.
CREATE OR REPLACE VIEW analytics.events AS
WITH reports AS (
    SELECT a.event_id, a.id, a.language, a.source,
           coalesce(a.published_at, a.first_seen_at) AS dated_at
    FROM public.articles a WHERE a.event_id IS NOT NULL
), first_report AS (
    SELECT DISTINCT ON (event_id) event_id, source AS first_outlet, language AS first_language,
           dated_at AS first_reported_at, id AS first_article_id
    FROM reports ORDER BY event_id, dated_at, id
), sides AS (
    SELECT event_id,
           count(*) FILTER (WHERE language = 'en') AS en_articles,
           count(*) FILTER (WHERE language = 'ja') AS ja_articles,
           count(*) FILTER (WHERE language = 'ru') AS ru_articles,
           min(dated_at) FILTER (WHERE language = 'en') AS en_first_at,
           min(dated_at) FILTER (WHERE language = 'ja') AS ja_first_at,
           min(dated_at) FILTER (WHERE language = 'ru') AS ru_first_at
    FROM reports GROUP BY event_id
)
SELECT e.id AS event_id,
       e.first_seen_at,
       e.last_seen_at,
       e.article_count,
       cardinality(e.outlets) AS outlet_count,
       e.languages,
       e.outlets,
       e.headlines ->> 'en' AS headline_en,
       e.headlines ->> 'ja' AS headline_ja,
       e.headlines ->> 'ru' AS headline_ru,
       s.en_articles, s.ja_articles, s.ru_articles,
       f.first_outlet, f.first_language, f.first_reported_at, f.first_article_id,
       s.en_first_at, s.ja_first_at, s.ru_first_at,
       s.ru_first_at - s.ja_first_at AS ru_lag_behind_ja,
       ARRAY(SELECT jsonb_array_elements_text(e.evidence)) AS evidence
FROM public.event_threads e
JOIN sides s ON s.event_id = e.id
JOIN first_report f ON f.event_id = e.id;
COMMENT ON VIEW analytics.events IS
    'One row per event (reports of one happening in any language): headline per language, '
    'reports per side, who reported first, when each language first reported it, and '
    'ru_lag_behind_ja (Russian first report minus Japanese first report; negative: Russia '
    'first). evidence: what its reports share (tags, numbers, dates).';

CREATE OR REPLACE VIEW analytics.event_coverage AS
SELECT a.event_id,
       a.language,
       a.source AS outlet,
       count(*) AS articles,
       min(coalesce(a.published_at, a.first_seen_at)) AS first_reported_at,
       count(DISTINCT a.cluster_id) AS stories
FROM public.articles a
WHERE a.event_id IS NOT NULL
GROUP BY 1, 2, 3;
COMMENT ON VIEW analytics.event_coverage IS
    'Per event, language and outlet: reports, distinct stories, and the first report time.';

CREATE OR REPLACE VIEW analytics.daily_digest AS
SELECT d.day, d.language, d.articles, d.outlets, d.top_tags, d.top_stories, d.refreshed_at
FROM public.daily_digest d;
COMMENT ON VIEW analytics.daily_digest IS
    'Per UTC day and language: relevant articles, outlets, top tags and top stories '
    '(refreshed by nichiro_digest).';

CREATE OR REPLACE VIEW analytics.digest_editions AS
SELECT e.day, e.side, e.articles, e.content, e.markdown, e.html, e.refreshed_at
FROM public.digest_editions e;
COMMENT ON VIEW analytics.digest_editions IS
    'The daily digest you could send, per UTC day and side (japan, russia, international): '
    'top events, tags new that day and spikes (content), as Markdown and HTML.';
