-- The cells and findings of a report are written only by `archive_checked`, in the transaction
-- that holds the report's row locked, and reports are never deleted; the foreign keys checked
-- that for every row again. Measured with `gongkai bench` (1,000 reports, 64 clients, about
-- 200 cells a report): the per-row foreign-key trigger was more than half of the time of the
-- cell inserts (10.5 ms -> 4.5 ms per 200-row insert), the largest single cost of the archive.
ALTER TABLE cells DROP CONSTRAINT IF EXISTS cells_report_id_fkey;
ALTER TABLE findings DROP CONSTRAINT IF EXISTS findings_report_id_fkey;
