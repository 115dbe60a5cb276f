"""Lines of a UTF-8 text file, decoded one by one so that a bad byte is reported with its line."""

from __future__ import annotations

import codecs

from engine.errors import EngineError


def decoded_lines(handle, name: str, first_line: int = 1):
    """Yield (line number, text) from a binary file handle whose first line is file line `first_line`;
    a UTF-8 byte-order mark is dropped and a line that is not UTF-8 raises EngineError naming `name`,
    the line and the column of the bad byte."""
    for line_no, raw in enumerate(handle, start=first_line):
        if line_no == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            yield line_no, raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise EngineError(f"{name}:{line_no}: not UTF-8 text ({err.reason} at column {err.start + 1})") from None


def is_valid_unicode(text: str) -> bool:
    """False for a str holding an unpaired surrogate (JSON's \\ud800 escape), which no file can store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
