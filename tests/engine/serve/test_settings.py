import pytest

from engine.errors import EngineError
from engine.serve.settings import Batching, Limits


def test_defaults_are_valid():
    Batching().check(Limits().check())


@pytest.mark.parametrize("settings, message", [
    (Limits(max_k=0), "--max-k must be positive"),
    (Limits(max_text_chars=-1), "--max-text-chars must be positive"),
    (Batching(max_batch=0), "--max-batch must be positive"),
    (Batching(max_wait_ms=-1), "--max-wait-ms must be 0 or more"),
    (Batching(request_timeout_s=0), "--request-timeout-s must be positive"),
    (Batching(max_queue=8), "--max-queue (8) must be at least --max-queries (256)"),
])
def test_bad_settings_name_their_option(settings, message):
    with pytest.raises(EngineError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings.check() if isinstance(settings, Limits) else settings.check(Limits())
