"""Reads an OpenMetrics text exposition on stdin with the Prometheus project's own parser
(PyPI prometheus-client) and prints what it parsed as JSON, for runtime/tests/metrics.rs to
assert on: [{"name", "type", "unit", "help", "samples": [{"name", "labels", "value"}]}].
The parser rejects what OpenMetrics forbids (a histogram without +Inf, buckets out of order, a
missing # EOF, ...), so a parse is already a check."""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

families = [
    {
        "name": family.name,
        "type": family.type,
        "unit": family.unit,
        "help": family.documentation,
        "samples": [
            {"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples
        ],
    }
    for family in text_string_to_metric_families(sys.stdin.read())
]
json.dump(families, sys.stdout)
