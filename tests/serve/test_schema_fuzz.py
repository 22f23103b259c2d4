"""Schema-driven fuzzing: schemathesis generates requests, valid and invalid, from the OpenAPI schema.

Whatever it sends, the server answers in its documented shapes and never with a 5xx.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (the browser extra)")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import GenerationMode, checks  # noqa: E402

from tests.serve.conftest import AUTH, TOKEN  # noqa: E402

CHECKS = [checks.not_a_server_error, checks.response_schema_conformance, checks.content_type_conformance,
          checks.status_code_conformance]


@pytest.fixture(scope="module")
def schema(served, bm25_index, tmp_path_factory):
    import shutil

    from winnow.serve import create_app

    copy = shutil.copytree(bm25_index, tmp_path_factory.mktemp("fuzz") / "bm25")
    app = create_app({"bm25": served["bm25"], "hybrid": served["hybrid"], "writable": copy}, token=TOKEN)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_no_request_gets_a_server_error(schema, mode):
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not any((operation.query, operation.path_parameters, operation.body)):
            continue  # nothing to send wrong
        writes = operation.path.startswith("/documents") and operation.method.upper() in ("POST", "DELETE")

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case):
            case.call_and_validate(headers=AUTH if writes else None, checks=CHECKS)

        fuzz()
