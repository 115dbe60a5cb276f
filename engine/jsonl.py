"""Read JSON Lines files whose every line is an object; errors name the file and line. Write them whole."""

from __future__ import annotations

import json
import os
from pathlib import Path

from engine.errors import EngineError
from engine.text_lines import decoded_lines


def read_json_objects(path: Path, what: str = "file"):
    """Yield (line number, dict) for each non-blank line; `what` names the file in errors."""
    try:
        handle = open(path, "rb")
    except IsADirectoryError:
        raise EngineError(f"{what} {path} is a directory, not a file") from None
    except OSError as err:
        raise EngineError(f"cannot read {what} {path}: {err.strerror}") from None
    with handle:
        yield from json_objects(decoded_lines(handle, str(path)), path)


def json_objects(lines, path: Path):
    """Yield (line number, dict) for each non-blank (line number, text) of `lines`, read from `path`."""
    for line_no, line in lines:
        if not line.strip():
            continue
        try:
            record = parse_json(line)
        except json.JSONDecodeError as err:
            raise EngineError(f"{path}:{line_no}: malformed JSON ({err.msg} at column {err.colno})") from None
        except RecursionError:
            raise EngineError(f"{path}:{line_no}: JSON nested too deeply to read") from None
        except ValueError as err:  # NaN or Infinity
            raise EngineError(f"{path}:{line_no}: {err}") from None
        if not isinstance(record, dict):
            raise EngineError(f"{path}:{line_no}: expected a JSON object, got {type(record).__name__}")
        yield line_no, record


def parse_json(text: str | bytes):
    """json.loads, refusing NaN and Infinity (ValueError) as JSON does."""
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str):
    """NaN and Infinity are accepted by Python's json but are not JSON, and break JSON output later."""
    raise ValueError(f"{name} is not valid JSON")


def write_json_lines(path: Path, records, what: str = "file") -> int:
    """Write each record (a dict) as one line; return how many. The lines go to a temporary file beside
    `path` that replaces it at the end, so a failure part-way leaves an earlier file at `path` whole."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    count = 0
    try:
        with temp.open("w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        os.replace(temp, path)
    except OSError as err:
        raise EngineError(f"cannot write {what} {path}: {err.strerror}") from None
    finally:
        temp.unlink(missing_ok=True)
    return count
