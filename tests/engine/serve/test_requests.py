import pytest

from engine.serve.requests import (
    RequestError,
    add_request,
    delete_request,
    embeddings_request,
    parse_body,
    search_request,
)
from engine.serve.settings import Limits

LIMITS = Limits(max_queries=4, max_passages=3, max_k=50, max_text_chars=40)


def refused(call, *args) -> RequestError:
    with pytest.raises(RequestError) as caught:
        call(*args)
    assert caught.value.status == 400
    return caught.value


def test_a_search_request_gets_its_defaults():
    request = search_request({"queries": ["wo ist der Nil?"]}, LIMITS)
    assert request.queries == ["wo ist der Nil?"]
    assert (request.params.k, request.params.languages, request.params.ef) == (10, None, None)
    assert (request.params.rescore, request.params.with_text) == (False, True)


@pytest.mark.parametrize("body, param", [
    ({}, "queries"),
    ({"queries": []}, "queries"),
    ({"queries": "one string"}, "queries"),
    ({"queries": ["a"] * 5}, "queries"),
    ({"queries": ["ok", 3]}, "queries[1]"),
    ({"queries": ["  "]}, "queries[0]"),
    ({"queries": ["x" * 41]}, "queries[0]"),
    ({"queries": ["\ud800"]}, "queries[0]"),
    ({"queries": ["a"], "k": 0}, "k"),
    ({"queries": ["a"], "k": "5"}, "k"),
    ({"queries": ["a"], "k": True}, "k"),
    ({"queries": ["a"], "k": 51}, "k"),
    ({"queries": ["a"], "ef": -1}, "ef"),
    ({"queries": ["a"], "languages": "de"}, "languages"),
    ({"queries": ["a"], "languages": ["zzz"]}, "languages"),
    ({"queries": ["a"], "rescore": "yes"}, "rescore"),
    ({"queries": ["a"], "querys": ["b"]}, "querys"),
])
def test_each_bad_search_field_is_named(body, param):
    assert refused(search_request, body, LIMITS).param == param


def test_embeddings_take_a_string_or_a_list_and_name_their_mistakes():
    assert embeddings_request({"model": "default", "input": "hi"}, LIMITS).texts == ["hi"]
    request = embeddings_request({"model": "m", "input": ["a", "b"], "encoding_format": "base64",
                                  "input_type": "passage"}, LIMITS)
    assert (request.texts, request.encoding_format, request.input_type) == (["a", "b"], "base64", "passage")
    assert embeddings_request({"model": "m", "input": "a"}, LIMITS).input_type == "query"
    assert refused(embeddings_request, {"input": "a"}, LIMITS).param == "model"
    assert refused(embeddings_request, {"model": "m", "input": [[1, 2]]}, LIMITS).param == "input"
    assert refused(embeddings_request, {"model": "m", "input": "a", "encoding_format": "int8"},
                   LIMITS).param == "encoding_format"
    assert refused(embeddings_request, {"model": "m", "input": "a", "input_type": "doc"}, LIMITS).param == "input_type"


def test_added_passages_are_checked_like_a_corpus_file():
    passages = add_request({"passages": [{"id": 7, "text": "Maji safi", "lang": "sw", "src": "x"}]}, LIMITS)
    assert (passages[0].id, passages[0].lang, passages[0].extra) == ("7", "sw", {"src": "x"})
    assert add_request({"passages": [{"id": "a", "text": "t"}], "lang": "yo"}, LIMITS)[0].lang == "yo"
    assert refused(add_request, {"passages": [{"id": "a"}]}, LIMITS).message == "passages[0]: missing 'text'"
    assert refused(add_request, {"passages": [{"id": "a", "text": "t"}, {"id": "a", "text": "u"}]},
                   LIMITS).param == "passages[1]"
    assert refused(add_request, {"passages": [{"id": "a", "text": "t", "lang": "zzz"}]}, LIMITS).param == "passages[0]"
    assert refused(add_request, {"passages": ["a"]}, LIMITS).param == "passages[0]"
    assert refused(add_request, {"passages": [{"id": str(n), "text": "t"} for n in range(4)]}, LIMITS).param == "passages"
    assert refused(add_request, {"passages": [{"id": "a", "text": "x" * 41}]}, LIMITS).param == "passages[0]"
    assert refused(add_request, {"passages": [{"id": "a", "text": "t"}], "lang": "zzz"}, LIMITS).param == "lang"


def test_delete_takes_a_list_of_ids():
    assert delete_request({"ids": ["a", "b"]}, LIMITS) == ["a", "b"]
    assert refused(delete_request, {"ids": []}, LIMITS).param == "ids"
    assert refused(delete_request, {"ids": ["a", 3]}, LIMITS).param == "ids[1]"


@pytest.mark.parametrize("raw, message", [
    (b"", "empty"),
    (b"{", "not valid JSON"),
    (b"[1]", "must be a JSON object, got a list"),
    (b'{"k": NaN}', "NaN is not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[" * 200_000, "nested too deeply"),
])
def test_bodies_that_are_not_a_json_object(raw, message):
    assert message in refused(parse_body, raw).message


def test_the_error_body_has_openais_shape():
    body = RequestError(400, "bad k", "k").body()
    assert body == {"error": {"message": "bad k", "type": "invalid_request_error", "param": "k", "code": None}}
