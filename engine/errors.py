"""The one exception type for user mistakes: the CLI prints its message and exits non-zero."""


class EngineError(Exception):
    """Bad input or a broken file, described in words a user can act on."""
