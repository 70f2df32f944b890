"""The reference of what the hardware allows (BENCHMARKS.md, "Questions of the whole archive"):
the aggregate of `gongkai bench-metrics`' first question (applications_new, disclosure_rate,
review_cases of every report, by year) computed by DuckDB over the Parquet file that
ExportCells wrote. Usage: python3 scripts/duckdb_reference.py cells.parquet [runs]
"""
import statistics
import sys
import time

import duckdb

QUERY = """
WITH usable AS (
  SELECT report_id, year, "table" || '.' || "row" || '.' || "column" AS cell, value
  FROM read_parquet({path}) WHERE state IN ('number', 'blank', 'corrected')),
per_report AS (
  SELECT report_id, year,
    max(value) FILTER (WHERE cell = 't3.new_received.total') AS new,
    max(value) FILTER (WHERE cell = 't3.granted.total') AS granted,
    max(value) FILTER (WHERE cell = 't3.partially_granted.total') AS partial,
    max(value) FILTER (WHERE cell = 't3.total_processed.total') AS processed,
    max(value) FILTER (WHERE cell = 't4.review.total') AS review
  FROM usable GROUP BY report_id, year)
SELECT year, count(*) AS reports, sum(new) AS applications_new,
  round(sum(granted + partial) / sum(processed) FILTER (WHERE granted IS NOT NULL
    AND partial IS NOT NULL), 4) AS disclosure_rate,
  sum(review) AS review_cases
FROM per_report GROUP BY year ORDER BY year
"""


def main():
    path = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    connection = duckdb.connect()
    # read_parquet takes a literal: the path as an SQL string.
    query = QUERY.format(path="'" + path.replace("'", "''") + "'")
    print(connection.execute(query).fetchall())
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        connection.execute(query).fetchall()
        times.append(time.perf_counter() - started)
    times.sort()
    print(f"duckdb {duckdb.__version__}: runs {runs}, p50 {statistics.median(times) * 1e3:.1f} ms, "
          f"min {times[0] * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
