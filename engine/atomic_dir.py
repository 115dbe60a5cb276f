"""Replace a directory as a whole: write a sibling temp dir, then swap it into place.

The swap is two renames (target -> old, temp -> target). A crash between them leaves only the
old copy, which `recover` renames back, so readers always find a complete directory. Writers
take an exclusive lock on a sibling lock file, so two of them never interleave; readers leave the
leftovers of a writer that is still running alone.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from contextlib import contextmanager
from pathlib import Path


def _temp_name(target: Path, tag: str) -> Path:
    return target.parent / f".{target.name}.{tag}-{os.getpid()}"


def _lock_file(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def writer_active(target: Path) -> bool:
    """Whether some process holds `writer_lock(target)` now (this process's own lock included)."""
    with _lock_if_free(target) as free:
        return free is False


@contextmanager
def _lock_if_free(target: Path):
    """Yield True while holding the writer lock, taken without waiting; False when a writer holds it;
    None when there is no lock file (no writer has ever run here, or it cannot be read)."""
    try:
        handle = open(_lock_file(target), "rb")
    except OSError:
        yield None
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def recover(target: Path) -> None:
    """Undo a swap that stopped half way, and drop leftovers of writers that died.

    When no writer holds the lock, this takes it for the clean-up, and every leftover is a dead
    writer's, even one whose recorded PID now belongs to an unrelated live process. While a writer
    holds it, only leftovers whose process is gone are touched."""
    with _lock_if_free(target) as free:
        dead = [path for tag in ("old", "tmp") for path in target.parent.glob(f".{target.name}.{tag}-*")
                if free or not _alive(path)]
        old = sorted(path for path in dead if ".old-" in path.name)
        if not target.exists() and old:
            os.rename(old.pop(), target)
            dead = [path for path in dead if path.exists()]
        for stale in dead:
            shutil.rmtree(stale, ignore_errors=True)


def _alive(leftover: Path) -> bool:
    """Whether the process that named this temp or old dir is still running."""
    try:
        os.kill(int(leftover.name.rsplit("-", 1)[1]), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def check_lock_writable(target: Path) -> None:
    """Raise OSError unless this process could create and lock `target`'s lock file (without waiting
    for a writer that holds it now)."""
    with open(_lock_file(target), "a"):
        pass


@contextmanager
def writer_lock(target: Path):
    """Exclusive lock for writers of `target` (a `.name.lock` file beside it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(_lock_file(target), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def replace_dir(target: Path):
    """Yield an empty temp dir; on normal exit it becomes `target`, on error it is removed.
    The caller holds `writer_lock(target)` when the new content depends on the old."""
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
