-- Aggregates over current reports read one table. `report_facts.current` says whether the
-- facts are of their series' current report; a trigger on `report_series` keeps it, so every
-- path that moves a series' current report (archiving, corrections, aliases) keeps it without
-- knowing of it. The trigger fires at the end of the statement that changed the series, and
-- its update takes a fresh snapshot: it sees the facts that statement wrote, and those of a
-- concurrent archiving of the same series that committed while this one waited for the
-- series' row lock.
ALTER TABLE report_facts ADD COLUMN current boolean NOT NULL DEFAULT false;

UPDATE report_facts f SET current = true
FROM report_series s
WHERE s.current_report_id = f.report_id;

CREATE FUNCTION report_series_current_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE report_facts SET current = (report_id = NEW.current_report_id)
    WHERE agency_key = NEW.agency_key AND year = NEW.year
      AND current IS DISTINCT FROM (report_id = NEW.current_report_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER report_series_current_facts
    AFTER INSERT OR UPDATE OF agency_key, year, current_report_id ON report_series
    FOR EACH ROW EXECUTE FUNCTION report_series_current_facts();

-- What an aggregate of one year scans.
CREATE INDEX report_facts_current_year ON report_facts (year) WHERE current;

-- Upgrades of stored data that SQL cannot do (they need the Rust definitions of agency keys
-- and metrics), done by `Archive::connect` once and then recorded here.
CREATE TABLE archive_upgrades (
    name    text        PRIMARY KEY,
    done_at timestamptz NOT NULL DEFAULT now()
);

-- Reports archived before 0008 have no facts and carry their printed name as agency key. An
-- archive without any such report has nothing to upgrade.
INSERT INTO archive_upgrades (name)
SELECT 'facts_of_earlier_reports'
WHERE NOT EXISTS (
    SELECT 1 FROM reports r
    WHERE r.status = 'ARCHIVED' AND r.checked IS NOT NULL AND r.agency_key IS NOT NULL
      AND r.year IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM report_facts f WHERE f.report_id = r.report_id));
