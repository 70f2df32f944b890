-- The gongkai archive: one row per submitted document (`reports`), the version series of each
-- (agency, year) with its current report (`report_series`), the status events of the pipeline
-- (`events`), and the archived content as rows for querying (`cells`, `findings`).
-- The crate documentation (src/lib.rs) explains the keys and why they are what they are.

CREATE TABLE reports (
    report_id        uuid        PRIMARY KEY,
    -- Submission: the same bytes or the same idempotency key is the same report.
    sha256           text        NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    idempotency_key  text        UNIQUE,
    filename         text        NOT NULL,
    media_type       text,
    size_bytes       bigint      NOT NULL CHECK (size_bytes >= 0),
    blob_key         text        NOT NULL,
    source_system    text,
    received_at      timestamptz NOT NULL,
    -- Pipeline state.
    status           text        NOT NULL DEFAULT 'RECEIVED'
                     CHECK (status IN ('RECEIVED', 'PARSED', 'VALIDATED', 'ARCHIVED', 'FAILED')),
    failure_stage    text        CHECK (failure_stage IN ('receive', 'parse', 'validate', 'archive')),
    failure_reason   text,
    updated_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    -- Archived content (NULL until archive_checked).
    agency           text,
    year             integer,
    template         text        CHECK (template IN ('F2019', 'F2021', 'mixed', 'legacy', 'unknown')),
    title            text,
    rules_version    text,
    error_count      integer,
    warning_count    integer,
    info_count       integer,
    version          integer     CHECK (version >= 1),
    -- The whole CheckedReport as serialised by the model. `json`, not `jsonb`: jsonb reorders
    -- object keys, and the row order of a table (the printed order) lives in key order.
    checked          json,
    CONSTRAINT version_needs_series CHECK (version IS NULL OR (agency IS NOT NULL AND year IS NOT NULL)),
    CONSTRAINT one_report_per_version UNIQUE (agency, year, version)
);

CREATE INDEX reports_listing ON reports (received_at DESC, report_id DESC);
CREATE INDEX reports_agency_year ON reports (agency, year);

-- Every (agency, year) that has an archived report: how many versions, which one is current.
CREATE TABLE report_series (
    agency            text    NOT NULL,
    year              integer NOT NULL,
    latest_version    integer NOT NULL CHECK (latest_version >= 1),
    current_report_id uuid    NOT NULL REFERENCES reports (report_id),
    PRIMARY KEY (agency, year)
);

-- What one run of one pipeline stage came to. (report_id, stage, attempt, outcome) is its
-- identity, so a redelivered message that records the same run again changes nothing.
CREATE TABLE events (
    seq          bigserial   PRIMARY KEY,
    report_id    uuid        NOT NULL REFERENCES reports (report_id) ON DELETE CASCADE,
    stage        text        NOT NULL CHECK (stage IN ('receive', 'parse', 'validate', 'archive')),
    attempt      integer     NOT NULL CHECK (attempt >= 1),
    -- The report's status once this event was recorded.
    status       text        NOT NULL
                 CHECK (status IN ('RECEIVED', 'PARSED', 'VALIDATED', 'ARCHIVED', 'FAILED')),
    outcome      text        NOT NULL CHECK (outcome IN ('succeeded', 'retrying', 'failed')),
    detail       text,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT one_event_per_run_outcome UNIQUE (report_id, stage, attempt, outcome)
);

-- The value cells of an archived report, one row each, exact NUMERIC values.
CREATE TABLE cells (
    report_id   uuid      NOT NULL REFERENCES reports (report_id) ON DELETE CASCADE,
    table_id    text      NOT NULL CHECK (table_id IN ('t2', 't3', 't4')),
    row_key     text      NOT NULL,
    column_key  text      NOT NULL,
    ordinal     integer   NOT NULL,
    value       numeric,
    text        text      NOT NULL,
    state       text      NOT NULL
                CHECK (state IN ('number', 'blank', 'placeholder', 'missing', 'ambiguous')),
    unit        text,
    position    jsonb,
    candidates  numeric[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (report_id, table_id, row_key, column_key)
);

-- The findings of an archived report, in the rule set's order.
CREATE TABLE findings (
    report_id      uuid    NOT NULL REFERENCES reports (report_id) ON DELETE CASCADE,
    ordinal        integer NOT NULL,
    rule           text    NOT NULL,
    severity       text    NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
    table_id       text,
    row_key        text,
    column_key     text,
    expected       jsonb,
    actual         jsonb,
    message        text    NOT NULL,
    message_en     text,
    rules_version  text    NOT NULL,
    PRIMARY KEY (report_id, ordinal)
);

CREATE INDEX findings_rule ON findings (rule, severity);
