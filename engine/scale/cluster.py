"""Joining a Ray cluster: `auto` joins the running one (RAY_ADDRESS, or one started with `ray start` on
this machine) or starts a local one; anything else is a cluster address such as `ray://head:10001`."""

from __future__ import annotations

from engine.errors import EngineError


def import_ray():
    try:
        import ray
    except ImportError:
        raise EngineError("--ray needs the scale extra (Ray is not installed): pip install -e '.[scale]'") from None
    return ray


def connect(address: str = "auto"):
    """The ray module, initialised on the cluster at `address` (reused when this process already joined one)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    try:
        if address == "auto":
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise EngineError(f"cannot join the Ray cluster at {address!r}: {str(err).splitlines()[0][:200]}") from None
    return ray


def first_line(err: Exception) -> str:
    """The root cause of a Ray task error, in one line (Ray wraps it in its own exception types)."""
    cause = getattr(err, "cause", None) or err.__cause__ or err
    text = f"{type(cause).__name__}: {cause}"
    return next((line.strip() for line in text.splitlines() if line.strip()), type(err).__name__)[:300]


def failure_message(err: Exception) -> str:
    """What went wrong on a worker: the EngineError it raised, found along Ray's wrappers (its cause chain,
    or the worker's traceback text, where Ray passes only that), else the root cause in one line."""
    seen, current = set(), err
    while current is not None and id(current) not in seen:
        if isinstance(current, EngineError):
            return str(current).splitlines()[0][:300]
        seen.add(id(current))
        current = getattr(current, "cause", None) or current.__cause__ or current.__context__
    for line in reversed(str(err).splitlines()):
        if line.strip().startswith(_ENGINE_ERROR_LINE):
            return line.strip()[len(_ENGINE_ERROR_LINE):][:300]
    return first_line(err)


_ENGINE_ERROR_LINE = f"{EngineError.__module__}.{EngineError.__qualname__}: "
