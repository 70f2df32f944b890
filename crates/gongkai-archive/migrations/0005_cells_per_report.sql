-- The cells of a report are stored in one row of `report_cells` (parallel arrays, in printed
-- order) instead of one indexed row each; `cells` becomes a view with the columns it had, so
-- every query on `cells` reads what it read before.
--
-- Why: a report has about 200 cells, and they are written once, together, and read together
-- (by report id). As rows they were the largest cost of archiving: 1.47 ms of PostgreSQL's
-- executor per report (`pg_stat_statements`, `gongkai bench -n 2000 -c 64`), 200 heap tuples
-- and 200 entries in a four-column primary-key index, for a key no query used except its
-- leading report id. The same cells as one row of arrays: 0.12 ms (1,000 inserts of a real
-- report's 199 cells in a PL/pgSQL loop: 1.0-1.4 s as rows, 0.12 s as one row). A query that
-- looks for a value across reports scanned every cell before as well (the index leads with
-- the report id), and still does.
CREATE TABLE report_cells (
    report_id    uuid      PRIMARY KEY,
    -- One element per cell, in printed order (t2, then t3, then t4).
    table_ids    text[]    NOT NULL,
    row_keys     text[]    NOT NULL,
    column_keys  text[]    NOT NULL,
    "values"     numeric[] NOT NULL,
    texts        text[]    NOT NULL,
    states       text[]    NOT NULL,
    units        text[]    NOT NULL,
    -- JSON text, parsed when read (through the view): most cells are written and never read
    -- one by one.
    positions    text[]    NOT NULL,
    -- Array literals of the candidate values ('{1,2}'), NULL for none: PostgreSQL arrays
    -- cannot nest arrays of different lengths.
    candidates   text[]    NOT NULL,
    CONSTRAINT cells_have_every_attribute CHECK (
        cardinality(row_keys) = cardinality(table_ids)
        AND cardinality(column_keys) = cardinality(table_ids)
        AND cardinality("values") = cardinality(table_ids)
        AND cardinality(texts) = cardinality(table_ids)
        AND cardinality(states) = cardinality(table_ids)
        AND cardinality(units) = cardinality(table_ids)
        AND cardinality(positions) = cardinality(table_ids)
        AND cardinality(candidates) = cardinality(table_ids)),
    CONSTRAINT known_tables CHECK (table_ids <@ ARRAY['t2', 't3', 't4']),
    CONSTRAINT known_states
        CHECK (states <@ ARRAY['number', 'blank', 'placeholder', 'missing', 'ambiguous'])
);
ALTER TABLE report_cells ALTER COLUMN positions SET COMPRESSION lz4;
ALTER TABLE report_cells ALTER COLUMN texts SET COMPRESSION lz4;

INSERT INTO report_cells (report_id, table_ids, row_keys, column_keys, "values", texts, states,
                          units, positions, candidates)
SELECT report_id,
       array_agg(table_id ORDER BY ordinal),
       array_agg(row_key ORDER BY ordinal),
       array_agg(column_key ORDER BY ordinal),
       array_agg(value ORDER BY ordinal),
       array_agg(text ORDER BY ordinal),
       array_agg(state ORDER BY ordinal),
       array_agg(unit ORDER BY ordinal),
       array_agg(position::text ORDER BY ordinal),
       array_agg(CASE WHEN cardinality(candidates) > 0 THEN candidates::text END
                 ORDER BY ordinal)
FROM cells
GROUP BY report_id;

DROP TABLE cells;

-- One row per value cell, as the table `cells` was: (report_id, table_id, row_key, column_key)
-- is unique, `ordinal` numbers a report's cells in printed order from 0.
CREATE VIEW cells AS
SELECT r.report_id,
       c.table_id,
       c.row_key,
       c.column_key,
       (c.n - 1)::integer AS ordinal,
       c.value,
       c.text,
       c.state,
       c.unit,
       c.position::jsonb AS position,
       coalesce(c.candidates::numeric[], '{}'::numeric[]) AS candidates
FROM report_cells r,
     unnest(r.table_ids, r.row_keys, r.column_keys, r."values", r.texts, r.states, r.units,
            r.positions, r.candidates)
       WITH ORDINALITY AS c(table_id, row_key, column_key, value, text, state, unit, position,
                            candidates, n);
