-- When the broker confirmed the report's parse message (set by the gateway soon after it
-- answered). A report recorded but never queued (the gateway stopped between recording and
-- publishing, or the broker never confirmed) keeps NULL; the gateway's recovery sweep queues
-- such reports once they are older than a minute. Reports past RECEIVED were queued; those
-- still RECEIVED at this migration are swept once (the stages are idempotent, so a report
-- that was in fact queued is archived once all the same).
ALTER TABLE reports ADD COLUMN queued_at timestamptz;
UPDATE reports SET queued_at = received_at WHERE status <> 'RECEIVED';
CREATE INDEX reports_unqueued ON reports (received_at) WHERE queued_at IS NULL;
