"""Property-based API testing (schemathesis) from the OpenAPI document the app serves, against
the local stack started as `make dev` starts it: every operation, a fixed budget of generated
requests each (valid and invalid ones), and not one may answer 5xx.

The budget is SETU_FUZZ_EXAMPLES requests per operation (default 12); the examples are
derandomized, so a run is repeatable and a failure reproduces with the same budget.
"""
from __future__ import annotations

import os
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.e2e.conftest import ADMIN, started

EXAMPLES = int(os.environ.get("SETU_FUZZ_EXAMPLES", "12"))


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory):
    yield from started(tmp_path_factory.mktemp("fuzz"), SETU_FORM_LIMIT_PER_HOUR="0",
                       SETU_SCHEDULE_SECONDS="0")


@pytest.fixture(scope="module")
def api_schema(fuzz_stack):
    response = requests.get(f"{fuzz_stack.url}/api/openapi.json", headers=ADMIN, timeout=30)
    assert response.status_code == 200, response.text
    return schemathesis.openapi.from_dict(response.json())


def test_no_server_error(api_schema, fuzz_stack):
    # schemathesis' pytest plugin does not run on pytest 9, so each operation's strategy is
    # driven by Hypothesis directly; every operation runs, and the failures are reported together.
    failures, statuses = [], Counter()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            # As the admin: every route is reachable, so requests get past auth into validation.
            response = case.call(base_url=fuzz_stack.url,
                                 headers={**ADMIN, **(case.headers or {})}, timeout=60)
            statuses[response.status_code // 100 * 100] += 1
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:300]}")

        try:
            fuzz()
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
    assert not failures, "\n".join(failures)
    # The budget was spent, and on both sides of validation (not only on 400s).
    print(f"fuzz: {sum(statuses.values())} requests, by status class {dict(statuses)}")
    assert sum(statuses.values()) >= 5 * len(operations)
    assert statuses[200] > 0 and statuses[400] > 0, statuses


def test_the_fuzzer_reaches_every_documented_operation(api_schema):
    # The document must describe real operations (an empty one would make the test above vacuous).
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
