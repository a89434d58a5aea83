"""History jobs on Apache Spark: the pure flight and airport code run over the
day-partitioned Parquet history (``<archive>/positions/day=YYYY-MM-DD/*.parquet``), one group
of aircraft per task, so a month or a year of a network's history is rebuilt by a cluster.
The same job runs locally (``local[*]``) or on a cluster by changing the master URL.
Importing this package imports nothing heavy (pyspark is imported by the jobs)."""

__all__: list[str] = []
