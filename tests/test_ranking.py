from __future__ import annotations

import pytest

from codegraph.ranking import identifier_query, path_class, query_identifiers, split_qualified, stem, stem_overlap


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("src/zod/types.ts", None),
        ("src/__tests__/string.test.ts", "test"),
        ("packages/zod/src/v4/email.spec.ts", "test"),
        ("tests/test_config.py", "test"),
        ("pydantic/test_helpers.py", "test"),
        ("lib/rack/conftest.py", "test"),
        ("net/http/server_test.go", "test"),
        ("spec/rack/request_spec.rb", "test"),
        ("test/request_test.rb", "test"),
        ("examples/basic/main.go", "example"),
        ("vendor/github.com/x/y.go", "vendored"),
        ("pkg/_vendor/six.py", "vendored"),
        ("api/v1/service_pb2.py", "generated"),
        ("api/v1/service.pb.go", "generated"),
        ("src/contest.py", None),
        ("src/latest_version.py", None),
        ("src/attestation.rs", None),
    ],
)
def test_path_class(path: str, expected: str | None) -> None:
    assert path_class(path) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ConfigDict", ["ConfigDict"]),
        ("ThreadPoolExecutor", ["ThreadPoolExecutor"]),
        ("debounce", ["debounce"]),
        ("where is ZodError raised", ["ZodError"]),
        ("how does parse_header handle folding", ["parse_header"]),
        ("Client.send retries", ["Client.send"]),
        ("Type::method", ["Type::method"]),
        ("Returns the int16 value of a flag with the given name", []),
        ("how is an email address validated", []),
        ("HTTP", ["HTTP"]),
    ],
)
def test_query_identifiers(query: str, expected: list[str]) -> None:
    assert query_identifiers(query) == expected


def test_split_qualified() -> None:
    assert split_qualified("Client.send") == ("Client", "send")
    assert split_qualified("a.b.C::m") == ("a.b.C", "m")
    assert split_qualified("Rack#call") == ("Rack", "call")
    assert split_qualified("name") == (None, "name")


def test_stems_match_across_inflections() -> None:
    assert stem("retries") == stem("retry")
    assert stem("parsing") == stem("parse") == stem("parses")
    assert stem("uploads") == stem("upload")
    assert stem_overlap("retryUpload", frozenset({stem("retries"), stem("uploads")})) == 1.0
    assert stem_overlap("Client.retry_upload", frozenset({stem("retry")})) == 0.5
    assert stem_overlap(None, frozenset({"x"})) == 0.0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ConfigDict", "ConfigDict"),
        ("  `ZodError` ", "ZodError"),
        ("parse_header()", "parse_header"),
        ("Client.send", "Client.send"),
        ("debounce", "debounce"),
        ("where is ZodError raised", None),
        ("two words", None),
    ],
)
def test_identifier_query(query: str, expected: str | None) -> None:
    assert identifier_query(query) == expected
