"""Metrics and dashboards.

Points come in as ``MetricPoint`` rows (the HTTP API's ``metrics.json``, the sandbox's
``metrics.fire``, the metrics API's POST). The rollup job (``rollup``, started by
``runner.attach``) folds them into minute and hour buckets and samples each conversation's
message totals; ``aggregate`` answers any bucket size from the cheapest rows; ``reports`` reads
reports.json and ``widgets`` computes what each dashboard widget shows. ``prometheus`` and
``graphite`` are for operators. Names follow the original: ``names``.
"""
