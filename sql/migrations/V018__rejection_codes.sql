-- V018: a staged page's rejection code in a column of its own (scrapers.models.Rejection),
-- so the run summary counts rejections by code instead of parsing the reason text.
ALTER TABLE staged_articles ADD COLUMN reason_code text;
COMMENT ON COLUMN staged_articles.reason_code IS
    'Why the page was not loaded, as a code (robots.txt, unextractable, listing page, no '
    'article text, not relevant; the exception class for status error); reason has the detail.';

-- Rows staged before: the code the summary used to parse out of the reason text.
UPDATE staged_articles
SET reason_code = CASE
        WHEN status = 'error' THEN split_part(reason, ':', 1)
        WHEN reason LIKE 'robots.txt%' THEN 'robots.txt'
        WHEN reason LIKE 'unextractable%' THEN 'unextractable'
        WHEN reason LIKE 'listing page%' THEN 'listing page'
        WHEN reason LIKE 'no article text%' THEN 'no article text'
        WHEN reason LIKE 'not relevant%' THEN 'not relevant'
        ELSE split_part(split_part(reason, ':', 1), ' (', 1) END
WHERE reason IS NOT NULL AND status IN ('rejected', 'error');
