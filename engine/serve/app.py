"""The HTTP app (Starlette): routes over a loaded Service, bearer-key auth, body limits, one error shape.

Every response to a mistake is a 4xx JSON body in OpenAI's error shape naming the field; anything
unexpected is a 500 whose details stay in the server log. No stack trace reaches a client."""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import time
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.errors import EngineError
from engine.output import results_json
from engine.serve import requests
from engine.serve.batcher import QueueFull, RequestTimeout, SearchTask
from engine.serve.metrics import ServiceMetrics
from engine.serve.requests import RequestError
from engine.serve.served import Service
from engine.serve.settings import Limits

log = logging.getLogger("engine.serve")
RETRY_AFTER_S = "1"


def build_app(service: Service, limits: Limits, metrics: ServiceMetrics, api_key: str | None = None,
              cors_origins: tuple[str, ...] = ()) -> Starlette:
    def route(path, name, handler, methods, public=False):
        return Route(path, _endpoint(name, handler, metrics, None if public else api_key), methods=methods)

    async def health(request):
        return JSONResponse({"status": "ok"})

    async def ready(request):
        if service.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        return JSONResponse({"status": "ready", "indexes": list(service.indexes), "models": list(service.models)})

    async def metrics_text(request):
        return Response(metrics.render(), media_type=metrics.content_type)

    async def list_indexes(request):
        # info() may reopen an index that a writer swapped (checksums): off the event loop
        return JSONResponse({"indexes": [await asyncio.to_thread(served.info) for served in service.indexes.values()]})

    async def index_info(request):
        return JSONResponse(await asyncio.to_thread(service.index(request.path_params["name"]).info))

    async def search(request):
        served = service.index(request.path_params["name"])
        body = requests.search_request(await _read_json(request, limits), limits)
        served.check_search(body.params)
        started = time.perf_counter()
        rows = await served.model.batcher.search(body.queries, served.model.encoder.bundle.query_prefix,
                                                 SearchTask(served.name, served.searcher, body.params))
        return JSONResponse(results_json(body.queries, rows, time.perf_counter() - started))

    async def embeddings(request):
        body = requests.embeddings_request(await _read_json(request, limits), limits)
        model = service.model(body.model)
        bundle = model.encoder.bundle
        if body.dimensions is not None and body.dimensions != bundle.dimension:
            raise RequestError(400, f"'dimensions' must be {bundle.dimension} for model {model.name!r} (it cannot "
                                    f"shorten its vectors), got {body.dimensions}", "dimensions")
        prefix = bundle.query_prefix if body.input_type == "query" else bundle.passage_prefix
        embedded = await model.batcher.embed(body.texts, prefix)
        return JSONResponse({
            "object": "list", "model": model.name,
            "data": [{"object": "embedding", "index": number, "embedding": _vector_json(vector, body.encoding_format)}
                     for number, vector in enumerate(embedded.vectors)],
            "usage": {"prompt_tokens": embedded.tokens, "total_tokens": embedded.tokens},
        })

    async def models(request):
        return JSONResponse({"object": "list", "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "engine"} for name in service.models]})

    async def add_passages(request):
        served = service.index(request.path_params["name"])
        passages = requests.add_request(await _read_json(request, limits), limits)
        return JSONResponse(await served.add(passages))

    async def delete_passages(request):
        served = service.index(request.path_params["name"])
        ids = requests.delete_request(await _read_json(request, limits), limits)
        return JSONResponse(await served.delete(ids))

    async def not_routed(request, exc: HTTPException):
        status = exc.status_code
        metrics.requests.labels("unrouted", str(status)).inc()
        message = {404: f"no such endpoint: {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}"}.get(status, exc.detail)
        return JSONResponse(RequestError(status, message).body(), status_code=status, headers=exc.headers)

    @asynccontextmanager
    async def lifespan(app):
        for model in service.models.values():
            model.batcher.start()
        yield
        for model in service.models.values():
            await model.batcher.stop()

    routes = [
        route("/health", "health", health, ["GET"], public=True),
        route("/ready", "ready", ready, ["GET"], public=True),
        route("/metrics", "metrics", metrics_text, ["GET"]),
        route("/indexes", "indexes", list_indexes, ["GET"]),
        route("/indexes/{name}", "index", index_info, ["GET"]),
        route("/indexes/{name}/search", "search", search, ["POST"]),
        route("/indexes/{name}/passages", "add", add_passages, ["POST"]),
        route("/indexes/{name}/passages", "delete", delete_passages, ["DELETE"]),
        route("/v1/embeddings", "embeddings", embeddings, ["POST"]),
        route("/v1/models", "models", models, ["GET"]),
    ]
    middleware = [Middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST", "DELETE"],
                             allow_headers=["Authorization", "Content-Type"])] if cors_origins else []
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                     exception_handlers={HTTPException: not_routed})


def _endpoint(name: str, handler, metrics: ServiceMetrics, api_key: str | None):
    """The handler, behind the key check, with every failure turned into a JSON error and counted."""

    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        try:
            if api_key is not None:
                _check_key(request, api_key)
            response = await handler(request)
        except RequestError as err:
            response = _error(err)
        except QueueFull as err:
            response = _error(RequestError(429, str(err), kind="rate_limit_error", headers={"Retry-After": RETRY_AFTER_S}))
        except RequestTimeout as err:
            response = _error(RequestError(504, str(err), kind="timeout_error"))
        except EngineError as err:
            response = _error(RequestError(400, str(err)))
        except ClientDisconnect:
            response = Response(status_code=499)  # nobody reads it; counted as such
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            response = _error(RequestError(500, "internal error: the server log has the details", kind="server_error"))
        metrics.requests.labels(name, str(response.status_code)).inc()
        metrics.request_seconds.labels(name).observe(time.perf_counter() - started)
        return response

    return endpoint


def _check_key(request: Request, api_key: str) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), api_key.encode()):
        raise RequestError(401, "missing or wrong API key: send `Authorization: Bearer KEY`", "authorization",
                           kind="authentication_error", headers={"WWW-Authenticate": "Bearer"})


async def _read_json(request: Request, limits: Limits) -> dict:
    """The body as a JSON object, read no further than the size limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise _too_large(int(declared), limits)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise _too_large(size, limits)
        chunks.append(chunk)
    return requests.parse_body(b"".join(chunks))


def _too_large(size: int, limits: Limits) -> RequestError:
    return RequestError(413, f"the request body ({size} bytes or more) is over the limit of {limits.max_body_bytes} "
                             "bytes (--max-body-bytes)")


def _error(err: RequestError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status, headers=err.headers)


def _vector_json(vector, encoding_format: str):
    """float: a list of numbers; base64: the little-endian float32 bytes, as OpenAI's client decodes them."""
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return vector.tolist()
