"""Replace a directory as a whole: write a sibling temp dir, then swap it into place.

The swap is two renames (target -> old, temp -> target). A crash between them leaves only the
old copy, which `recover` renames back, so readers always find a complete directory.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path


def _temp_name(target: Path, tag: str) -> Path:
    return target.parent / f".{target.name}.{tag}-{os.getpid()}"


def recover(target: Path) -> None:
    """Undo a swap that stopped half way, and drop leftovers of writers that died."""
    leftovers = sorted(target.parent.glob(f".{target.name}.old-*"))
    if not target.exists() and leftovers:
        os.rename(leftovers.pop(), target)
    dead_temps = [temp for temp in target.parent.glob(f".{target.name}.tmp-*") if not _alive(temp)]
    for stale in leftovers + dead_temps:
        shutil.rmtree(stale, ignore_errors=True)


def _alive(temp: Path) -> bool:
    """Whether the process that named this temp dir is still running."""
    try:
        os.kill(int(temp.name.rsplit("-", 1)[1]), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def replace_dir(target: Path):
    """Yield an empty temp dir; on normal exit it becomes `target`, on error it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target)
    temp = _temp_name(target, "tmp")
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    try:
        yield temp
        _fsync_dir_files(temp)
        old = _temp_name(target, "old")
        if target.exists():
            os.rename(target, old)
        os.rename(temp, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _fsync_dir_files(directory: Path) -> None:
    for path in directory.iterdir():
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
