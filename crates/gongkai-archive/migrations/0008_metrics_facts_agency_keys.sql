-- Questions of the whole archive (archive.md §5–§6): agency keys and regions, aliases, the
-- version series keyed by agency key, and one row of facts per archived report.
--
-- Agency identity. `reports.agency` stays as printed; `agency_key` (region path + body name,
-- normalised: gongkai_metrics::agency) is who the report is of, after aliases, and keys the
-- series, the cross-year rules, grouping and trends. `region` is what the submission gave
-- (set before archiving), else the administrative names that lead the printed name.
ALTER TABLE reports ADD COLUMN agency_key text, ADD COLUMN region text;

-- Reports archived before this migration: the printed name stands in for the key until
-- `Archive::connect` computes the real ones (gongkai_archive's backfill), in Rust, where the
-- key is defined.
UPDATE reports SET agency_key = agency WHERE agency IS NOT NULL;

ALTER TABLE reports DROP CONSTRAINT one_report_per_version;
ALTER TABLE reports ADD CONSTRAINT one_report_per_version UNIQUE (agency_key, year, version);
ALTER TABLE reports DROP CONSTRAINT version_needs_series;
ALTER TABLE reports ADD CONSTRAINT version_needs_series
  CHECK (version IS NULL OR (agency_key IS NOT NULL AND year IS NOT NULL));
DROP INDEX reports_agency_year;
CREATE INDEX reports_agency_key_year ON reports (agency_key, year);

-- The series of one agency key's report for one year; `agency` is the printed name of its
-- current report (for people).
ALTER TABLE report_series ADD COLUMN agency_key text;
UPDATE report_series SET agency_key = agency;
ALTER TABLE report_series ALTER COLUMN agency_key SET NOT NULL;
ALTER TABLE report_series DROP CONSTRAINT report_series_pkey;
ALTER TABLE report_series ADD PRIMARY KEY (agency_key, year);
CREATE INDEX report_series_current ON report_series (current_report_id);

-- An admin's declaration that reports keyed `alias_key` are of `agency_key` (one body printing
-- its name differently across years). Keys are resolved when declared, so an alias never
-- points at another alias.
CREATE TABLE agency_aliases (
    alias_key   text        PRIMARY KEY,
    agency_key  text        NOT NULL CHECK (agency_key <> alias_key),
    -- The printed names the admin gave.
    alias_name  text        NOT NULL,
    agency_name text        NOT NULL,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agency_aliases_target ON agency_aliases (agency_key);

-- Two rows per archived report with an agency and a year, written by the archiving statement
-- with the report: what the questions of the whole archive read instead of the stored JSON
-- (which the view `cells` parses at about 0.4 ms a report). `checked` stays the document
-- GetReport returns; these are derived from it and rewritten whenever the report is archived
-- again.
--
-- `report_facts`, narrow, what an aggregate scans: the report's group columns and
-- `metric_parts`, per metric of the dictionary (gongkai_metrics::METRICS, in order) its
-- numerator and denominator for this report (1 for a count), both NULL when the metric is NA
-- for it; `metrics_version` is the dictionary they were computed with.
CREATE TABLE report_facts (
    report_id       uuid      PRIMARY KEY,
    agency          text      NOT NULL,
    agency_key      text      NOT NULL,
    region          text      NOT NULL,
    year            integer   NOT NULL,
    template        text      NOT NULL,
    version         integer   NOT NULL,
    metrics_version integer   NOT NULL,
    metric_parts    numeric[] NOT NULL
);
CREATE INDEX report_facts_key_year ON report_facts (agency_key, year);
CREATE INDEX report_facts_year ON report_facts (year);
-- `ReportFilter.agency` is a substring of the printed name: a trigram index answers it
-- without reading every row.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX report_facts_agency ON report_facts USING gin (agency gin_trgm_ops);

-- `report_cells`, what an export reads a batch of reports at a time: every value cell in
-- printed order as parallel arrays — the catalogue id (gongkai_metrics::catalogue), the exact
-- value, the state (one letter: n number, b blank, p placeholder, m missing, a ambiguous,
-- i invalid, c corrected) and the source text. Apart from the facts so that an aggregate's scan
-- never reads these (about 1.9 KB a report compressed, against about 0.3 KB of facts).
CREATE TABLE report_cells (
    report_id   uuid       PRIMARY KEY,
    cell_ids    smallint[] NOT NULL,
    cell_values numeric[]  NOT NULL,
    cell_states "char"[]   NOT NULL,
    cell_texts  text[]     NOT NULL
);
ALTER TABLE report_cells ALTER COLUMN cell_values SET COMPRESSION lz4;
ALTER TABLE report_cells ALTER COLUMN cell_texts SET COMPRESSION lz4;
