"""The operator's Prometheus metrics (prefix `baton_`, base units, bounded labels).

The observability issue grows this set; what exists now is what the shell itself needs to be watched:
reconciles, their errors and durations, and every API request by verb, resource and result.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram, start_http_server

RECONCILE_SECONDS = Histogram(
    "baton_reconcile_duration_seconds",
    "Time spent reconciling one object, by kind (run or pipeline).",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
RECONCILE_ERRORS = Counter(
    "baton_reconcile_errors_total",
    "Reconciles that failed with an error, by kind (retried later).",
    ["kind"],
)
API_REQUESTS = Counter(
    "baton_kubernetes_requests_total",
    "Kubernetes API requests the operator made, by verb, resource and code.",
    ["verb", "resource", "code"],
)


def observe_request(verb: str, resource: str, code: int) -> None:
    API_REQUESTS.labels(verb=verb, resource=resource, code=str(code)).inc()


def serve(port: int) -> None:
    start_http_server(port)
