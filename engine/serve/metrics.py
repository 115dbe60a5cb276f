"""The service's Prometheus metrics, in a registry of its own (one per app)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServiceMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("engine_requests", "HTTP requests by endpoint and status code",
                                ["endpoint", "status"], registry=self.registry)
        self.request_seconds = Histogram("engine_request_seconds", "Time from request to response, by endpoint",
                                         ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.batch_texts = Histogram("engine_batch_texts", "Texts per micro-batch (one encode call)", ["model"],
                                     buckets=BATCH_BUCKETS, registry=self.registry)
        self.batch_requests = Histogram("engine_batch_requests", "Requests gathered into one micro-batch", ["model"],
                                        buckets=BATCH_BUCKETS, registry=self.registry)
        self.queue_texts = Gauge("engine_queue_texts", "Texts queued or being encoded, per model", ["model"],
                                 registry=self.registry)
        self.encode_seconds = Histogram("engine_encode_seconds", "Encoder time per micro-batch", ["model"],
                                        buckets=LATENCY_BUCKETS, registry=self.registry)
        self.search_seconds = Histogram("engine_search_seconds", "Graph search time per micro-batch (encoding "
                                        "excluded)", ["index"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.write_seconds = Histogram("engine_write_seconds", "Time to add or delete passages, encoding included",
                                       ["index", "operation"], buckets=LATENCY_BUCKETS, registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
