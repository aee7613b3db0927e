"""The REST API fuzzed from its own OpenAPI schema (/api/schema/ on a real uvicorn).

Schemathesis generates schema-valid and schema-violating requests for every operation;
each answer must be no 500, a 5xx only where the schema documents it (health's 503), and a
JSON object body on every 4xx and 5xx. Bodies of documented statuses must match the schema.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import Case, CheckContext, GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.conftest import LiveServer, RunningProcess, web_server_start
from tests.factories import asset_create, user_create
from tests.hostile.messages import FUZZ, examples_fixed

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

# The fuzzer must reach validation, not the per-user throttle (10/min, tested elsewhere).
REST_ENV = {"FORCE_UPDATE_RATE": "100000/min"}
# Examples per operation and generation mode: the write endpoint gets most of them.
EXAMPLES = {"POST /api/realtime/force_price_update/": 120}
DEFAULT_EXAMPLES = 30


def no_server_error(ctx: CheckContext, response: schemathesis.Response, case: Case) -> None:
    """Never a 500; another 5xx only where the schema documents it for this operation."""
    status = response.status_code
    if status >= 500 and (
        status == 500 or str(status) not in case.operation.responses.status_codes
    ):
        raise AssertionError(f"{case.operation.label}: {status} {response.text[:300]}")


def json_body_on_errors(ctx: CheckContext, response: schemathesis.Response, case: Case) -> None:
    """Every 4xx and 5xx says why, as a JSON object."""
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), (
        f"{case.operation.label}: {response.status_code} with {content_type!r}: "
        f"{response.text[:300]}"
    )
    body = response.json()
    assert isinstance(body, dict), f"{case.operation.label}: {body!r}"
    assert body, f"{case.operation.label}: an empty JSON object says nothing"


CHECKS: list[Callable[..., Any]] = [
    no_server_error,
    json_body_on_errors,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def rest_server(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess]
) -> LiveServer:
    return web_server_start(start_process, {**child_env, **REST_ENV}, "web-rest")


def fuzz_operations(server: LiveServer, headers: dict[str, str]) -> Counter[str]:
    """Every operation, positive and negative cases; the number of requests per operation."""
    schema = schemathesis.openapi.from_url(f"{server.http_url}/api/schema/")
    tried: Counter[str] = Counter()
    session = requests.Session()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the schema has an invalid operation: {result}"
        operation = result.ok()
        examples = EXAMPLES.get(operation.label, DEFAULT_EXAMPLES)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(FUZZ, max_examples=examples)
            @given(case=operation.as_strategy(generation_mode=mode))
            def request(case: Case) -> None:
                response = case.call(base_url=server.http_url, headers=headers, session=session)
                tried[case.operation.label] += 1
                case.validate_response(response, checks=CHECKS, headers=headers)

            try:
                with examples_fixed():
                    request()
            except Unsatisfiable:
                # An operation without parameters or body has no schema to violate.
                assert mode is GenerationMode.NEGATIVE, operation.label
    return tried


def report(caller: str, tried: Counter[str]) -> None:
    each = ", ".join(f"{label} {count}" for label, count in sorted(tried.items()))
    print(f"\nrest fuzz ({caller}): {sum(tried.values())} requests: {each}")


def test_anonymous_requests_never_500_and_every_error_is_json(rest_server: LiveServer) -> None:
    asset_create("AAPL")
    tried = fuzz_operations(rest_server, headers={})
    report("anonymous", tried)
    assert len(tried) >= 4  # force update, health, status, websocket-info


def test_token_requests_never_500_and_every_error_is_json(rest_server: LiveServer) -> None:
    asset_create("AAPL")
    asset_create("MSFT")
    key = Token.objects.create(user=user_create()).key
    tried = fuzz_operations(rest_server, headers={"Authorization": f"Token {key}"})
    report("token", tried)
    assert len(tried) >= 4
