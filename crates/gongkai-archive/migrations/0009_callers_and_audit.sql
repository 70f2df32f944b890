-- Known callers (archive.md §7) and the audit log.
--
-- A caller token is kept as the SHA-256 of the token, never the token itself: the token is
-- shown once by `gongkai token create`. A name has at most one active token at a time (it is
-- the caller's identity and its submissions' `source_system`); a revoked token stays listed,
-- and its name can be issued again. Scopes are the words of §7.
CREATE TABLE caller_tokens (
    token_id     bigserial   PRIMARY KEY,
    name         text        NOT NULL,
    token_sha256 text        NOT NULL UNIQUE,
    scopes       text[]      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text        NOT NULL,
    revoked_at   timestamptz,
    revoked_by   text,
    CHECK (scopes <@ ARRAY['submit', 'read', 'review', 'admin']::text[] AND cardinality(scopes) > 0),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);

CREATE UNIQUE INDEX caller_tokens_active_name ON caller_tokens (name) WHERE revoked_at IS NULL;

-- Who did what, when: token changes, DLQ redrives, corrections, dispositions, re-validations.
-- Append-only; `subject` is what was acted on (a token name, a report id, a batch, a queue),
-- `detail` the rest as JSON.
CREATE TABLE audit_log (
    seq     bigserial   PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text        NOT NULL,
    action  text        NOT NULL,
    subject text,
    detail  jsonb       NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
