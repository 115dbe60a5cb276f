"""`engine serve`: the HTTP service over the Python API (search, embeddings, live add and delete).

settings    limits and micro-batching knobs, checked once
requests    JSON bodies -> checked requests; RequestError names the field and the HTTP status
batcher     gathers the texts of concurrent requests into one encode call and one graph search
served      the indexes and models loaded at start-up, warmed, with their writers
metrics     Prometheus counters and histograms (prometheus-client)
app         the Starlette app: routes, auth, body limits, error format
server      uvicorn on a socket bound here; SIGTERM drains the requests in flight, then exits 0
cli         the `engine serve` command
"""
