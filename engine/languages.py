"""Language codes: ISO 639-1 (two letters) or ISO 639-3 (three letters), optional subtags (zh-Hant).

Base codes are checked against ISO 639-3 as pycountry ships it (7,900+ languages, with the ISO 639-1
code of each that has one); the subtags after the base are only checked for their shape.
"""

import re
from functools import lru_cache

from engine.errors import EngineError

_CODE = re.compile(r"^(?P<base>[a-z]{2,3})(-[A-Za-z0-9]{2,8})*$")
UNDETERMINED = "und"
# Retired from ISO 639-3 but still used by datasets: FLORES-200's ajp_Arab (South Levantine Arabic,
# merged into apc in 2023, while FLORES keeps apc_Arab for North Levantine).
RETIRED_IN_USE = frozenset({"ajp"})


@lru_cache(maxsize=4096)
def is_iso_639_code(base: str) -> bool:
    """True for an ISO 639-1 code (`yo`) or an ISO 639-3 code (`yor`, `und`, macrolanguages like `zho`)."""
    import pycountry  # its ISO 639-3 table loads on first use (~30 ms)

    if base in RETIRED_IN_USE:
        return True
    field = "alpha_2" if len(base) == 2 else "alpha_3"
    return pycountry.languages.get(**{field: base}) is not None


def check_language_code(code: str, where: str) -> str:
    """Return the code if it is a known ISO 639 code, else raise naming `where`."""
    match = _CODE.match(code)
    if not match or not is_iso_639_code(match["base"]):
        raise EngineError(f"{where}: unknown language code {code!r} (expected ISO 639-1 such as 'en', 'sw', 'yo', "
                          f"or ISO 639-3 such as 'yor')")
    return code
