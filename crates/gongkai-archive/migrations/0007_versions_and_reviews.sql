-- The archive as a living record (archive.md §1–§4): corrections as versions of their own,
-- reviewers' judgements of findings, and batches.

-- §1 Corrections. A correction is a report of its own (kind CORRECTION) with its parent, the
-- reason, who made it and the cells it changed (before → after, as JSON). It shares its
-- parent's source document, so the uniqueness of the submitted bytes holds for submissions
-- only; an idempotency key is unique within its kind (a correction's key answers with the
-- same correction, a submission's with the same submission).
ALTER TABLE reports
    ADD COLUMN kind text NOT NULL DEFAULT 'SUBMISSION'
        CHECK (kind IN ('SUBMISSION', 'CORRECTION')),
    ADD COLUMN parent_report_id uuid REFERENCES reports (report_id),
    ADD COLUMN reason text,
    ADD COLUMN caller text,
    ADD COLUMN changed_cells jsonb,
    ADD COLUMN batch text,
    ADD CONSTRAINT correction_has_parent_and_reason CHECK (
        (kind = 'CORRECTION') = (parent_report_id IS NOT NULL)
        AND (kind <> 'CORRECTION' OR (reason IS NOT NULL AND changed_cells IS NOT NULL)));

ALTER TABLE reports DROP CONSTRAINT reports_sha256_key;
CREATE UNIQUE INDEX reports_submission_sha256 ON reports (sha256) WHERE kind = 'SUBMISSION';
ALTER TABLE reports DROP CONSTRAINT reports_idempotency_key_key;
CREATE UNIQUE INDEX reports_kind_idempotency_key ON reports (kind, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- No forks: a report has at most one correction that has not failed (a second one, while the
-- first is in the pipeline, is refused; once the first is archived the parent is no longer
-- current and is refused for that).
CREATE UNIQUE INDEX reports_one_live_correction ON reports (parent_report_id)
    WHERE parent_report_id IS NOT NULL AND status <> 'FAILED';

-- §2 Dispositions: a reviewer's judgement of one finding (rule + location), kept per series
-- (agency, year), so that it applies to every version and re-validation in which the same
-- finding recurs. The location columns are '' where the finding has none (a primary key
-- cannot hold NULL).
CREATE TABLE finding_dispositions (
    agency       text        NOT NULL,
    year         integer     NOT NULL,
    rule         text        NOT NULL,
    table_id     text        NOT NULL DEFAULT '',
    row_key      text        NOT NULL DEFAULT '',
    column_key   text        NOT NULL DEFAULT '',
    disposition  text        NOT NULL
                 CHECK (disposition IN ('CONFIRMED_AS_PUBLISHED', 'TO_BE_CORRECTED',
                                        'NOT_A_PROBLEM')),
    note         text        NOT NULL DEFAULT '',
    caller       text        NOT NULL,
    -- The report the reviewer was looking at.
    report_id    uuid        NOT NULL REFERENCES reports (report_id),
    set_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agency, year, rule, table_id, row_key, column_key)
);

-- §4 Batches: a caller's label on submissions (reports.batch), or a re-validation run.
CREATE INDEX reports_batch ON reports (batch, status) WHERE batch IS NOT NULL;
-- Every batch: a label on submissions (its reports carry it in reports.batch), or a
-- re-validation run (its reports are the rows of `revalidations`).
CREATE TABLE batches (
    batch       text        PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('SUBMISSION', 'REVALIDATION')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    caller      text,
    -- Re-validations: what was asked.
    reparse     boolean     NOT NULL DEFAULT false,
    rules_version text
);
CREATE INDEX batches_newest ON batches (created_at DESC, batch DESC);

-- §3 Re-validation: one row per report of a re-validation batch. Its status is the
-- re-validation's own (the report stays ARCHIVED throughout): QUEUED until the archive stage
-- replaced the findings (DONE) or gave up (FAILED); SKIPPED for a report already at the current
-- rules version. The rule versions and finding counts before and after are the record of the
-- re-validation (also written as the report's `revalidate` event).
CREATE TABLE revalidations (
    batch           text        NOT NULL REFERENCES batches (batch),
    report_id       uuid        NOT NULL REFERENCES reports (report_id),
    status          text        NOT NULL DEFAULT 'QUEUED'
                    CHECK (status IN ('QUEUED', 'DONE', 'SKIPPED', 'FAILED')),
    queued_at       timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    failure_stage   text,
    failure_reason  text,
    rules_before    text,
    rules_after     text,
    errors_before   integer,
    warnings_before integer,
    infos_before    integer,
    errors_after    integer,
    warnings_after  integer,
    infos_after     integer,
    PRIMARY KEY (batch, report_id)
);
CREATE INDEX revalidations_report ON revalidations (report_id);

-- A re-validation is recorded among the report's events, stage `revalidate` (its attempt
-- numbers the report's re-validations, so that each is an event of its own).
ALTER TABLE events DROP CONSTRAINT events_stage_check;
ALTER TABLE events ADD CONSTRAINT events_stage_check
    CHECK (stage IN ('receive', 'parse', 'validate', 'archive', 'revalidate'));
