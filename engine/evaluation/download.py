"""Fetch a missing public data file into the data dir: streamed to a temp file, renamed into place.

Files come from raw GitHub URLs (`RAW_BASE`); $ENGINE_DATA_MIRROR replaces that base (a mirror, or
a local server in tests) and ENGINE_OFFLINE=1 turns fetching off.
"""

from __future__ import annotations

import os
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path

RAW_BASE = "https://raw.githubusercontent.com"
TIMEOUT_SECONDS = 60


def offline() -> bool:
    return os.environ.get("ENGINE_OFFLINE", "") not in ("", "0")


def raw_url(repository_path: str) -> str:
    """`owner/repo/branch/path` under the raw-file base (or the mirror)."""
    return f"{os.environ.get('ENGINE_DATA_MIRROR', RAW_BASE).rstrip('/')}/{repository_path}"


def fetch(url: str, path: Path) -> str | None:
    """Download `url` to `path`; None on success, else why it failed. Never leaves a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.part-{os.getpid()}")
    print(f"fetching {url} -> {path}", file=sys.stderr)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response, open(temp, "wb") as out:
            expected = response.headers.get("Content-Length")
            shutil.copyfileobj(response, out, length=1 << 20)
        received = temp.stat().st_size
        if expected is not None and received != int(expected):
            return f"the connection closed after {received} of {expected} bytes"
        os.replace(temp, path)
        return None
    except urllib.error.HTTPError as err:
        return f"HTTP {err.code} {err.reason}"
    except (urllib.error.URLError, OSError) as err:
        return str(getattr(err, "reason", err))
    finally:
        temp.unlink(missing_ok=True)
