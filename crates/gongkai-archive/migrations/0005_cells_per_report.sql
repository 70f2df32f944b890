-- The cells of an archived report are no longer stored a second time: `cells` becomes a view
-- that reads them from the report's `checked` JSON (which holds every cell with its value,
-- source text, state, unit, position and candidates, in printed order), with the columns the
-- table had, so every query on `cells` reads what it read before.
--
-- Why: a report has about 200 cells, written once, together, and read together (by report
-- id). As rows they were the largest cost of archiving: 1.47 ms of PostgreSQL's executor per
-- report (`pg_stat_statements`, `gongkai bench -n 2000 -c 64`), 200 heap tuples and 200
-- entries in a four-column primary-key index, for a key no query used except its leading
-- report id, and 24 KB of the 27 KB `checked` document over again. The archive worker also
-- had to decode every cell of the document to write them. Measured the same way, PostgreSQL's
-- CPU per report went 2.6 -> 2.0 ms and the pipeline's 6.2 -> 5.3 ms.
--
-- The price: one report's cells are read in about 2 ms (the JSON is parsed), and a query across
-- all reports parses every document (about 0.4 ms a report; the table's index led with the
-- report id, so such a query scanned every cell before too, only faster). For heavy analysis,
-- materialise the view (docs/operations.md).
DROP TABLE cells;

-- The members of a JSON object in their written order, as json_each, but with a row estimate
-- the size of a table's rows: json_each's default estimate (100) made the three nested levels
-- of the view look like a million rows, and PostgreSQL then JIT-compiled the query (275 ms
-- for one report's 200 cells instead of 2 ms). STRICT keeps it from being inlined (which would
-- bring the estimate back).
CREATE FUNCTION json_members(document json) RETURNS TABLE (key text, value json)
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 16
  AS $$ SELECT key, value FROM json_each(document) $$;

-- One row per value cell: (report_id, table_id, row_key, column_key) is unique, `ordinal`
-- numbers a report's cells in printed order (t2, t3, t4; rows and columns as printed) from 0.
-- `value` is the exact decimal as written in the JSON (scale kept).
CREATE VIEW cells AS
SELECT r.report_id,
       t.key AS table_id,
       rw.key AS row_key,
       c.key AS column_key,
       (row_number() OVER (PARTITION BY r.report_id ORDER BY t.n, rw.n, c.n) - 1)::integer
         AS ordinal,
       (c.value ->> 'value')::numeric AS value,
       c.value ->> 'text' AS text,
       c.value ->> 'state' AS state,
       c.value ->> 'unit' AS unit,
       (c.value -> 'position')::jsonb AS position,
       coalesce(ARRAY(SELECT x::numeric
                      FROM json_array_elements_text(c.value -> 'candidates') AS x),
                '{}'::numeric[]) AS candidates
FROM reports r
     CROSS JOIN LATERAL json_members(r.checked -> 'report' -> 'tables')
       WITH ORDINALITY AS t(key, value, n)
     CROSS JOIN LATERAL json_members(t.value) WITH ORDINALITY AS rw(key, value, n)
     CROSS JOIN LATERAL json_members(rw.value) WITH ORDINALITY AS c(key, value, n)
WHERE r.checked IS NOT NULL;
