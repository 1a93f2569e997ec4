"""Property-based API testing (schemathesis) from the OpenAPI document the app serves, against
the local stack started as `make dev` starts it.

* every operation, SETU_FUZZ_EXAMPLES requests each (default 50): half valid (positive), half
  breaking the schema (negative), under each seed of SETU_FUZZ_SEEDS (default two). Every
  response is checked against the document: never 5xx, a documented status and content type,
  a body matching its response schema, and a schema-breaking body or path parameter refused
  with a 4xx;
* the stateful run follows the document's links (api/openapi.LINKS: create -> read/update)
  for SETU_FUZZ_STATEFUL scenarios (default 20) per seed, with the same checks;
* every method a path does not document answers 405 with Allow (local/gateway.py).

A seed makes a run repeatable: a failure reproduces with the same seed and budget. `make bench`
runs this file with SETU_FUZZ_EXAMPLES=200 (bench/fuzz.py).
"""
from __future__ import annotations

import os
import time
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import ADMIN, started

EXAMPLES = int(os.environ.get("SETU_FUZZ_EXAMPLES", "50"))
SEEDS = tuple(int(s) for s in os.environ.get("SETU_FUZZ_SEEDS", "21,2026").split(",") if s.strip())
STATEFUL = int(os.environ.get("SETU_FUZZ_STATEFUL", "20"))
# to reproduce a failure: only the operations whose label ("PUT /api/routing") starts so
ONLY = tuple(s.strip() for s in os.environ.get("SETU_FUZZ_OPERATIONS", "").split(",") if s.strip())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE")
VALIDATED = {ParameterLocation.BODY, ParameterLocation.PATH}


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory):
    yield from started(tmp_path_factory.mktemp("fuzz"), SETU_FORM_LIMIT_PER_HOUR="0",
                       SETU_SCHEDULE_SECONDS="0")


@pytest.fixture(scope="module")
def document(fuzz_stack):
    response = requests.get(f"{fuzz_stack.url}/api/openapi.json", headers=ADMIN, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def api_schema(document):
    schema = schemathesis.openapi.from_dict(document)
    # the local stage's X-Setu-Principal stands in for SigV4 (CONTRACT.md): the document's
    # Authorization (sigv4) is never generated, so never "missing" in negative requests
    schema.config.generation.update(with_security_parameters=False)
    return schema


def _summary(exc: BaseException) -> str:
    text = str(exc).strip()
    for inner in getattr(exc, "exceptions", ())[:3]:  # a group: what each failure was
        text += f"\n  {type(inner).__name__}: {str(inner).strip()[:600]}"
    return "\n".join(text.splitlines()[:16])[:2000]


def _mutated(case) -> set:
    """Where a negative case breaks the schema (body, path, query, header)."""
    data = case.meta.phase.data if case.meta is not None else None
    found = {m.parameter_location for m in (getattr(data, "mutations", None) or ())}
    if getattr(data, "parameter_location", None) is not None:
        found.add(data.parameter_location)
    return found


def _fuzz(operation, mode, run_seed, call):
    """One operation's requests in one generation mode, each response checked."""
    @seed(run_seed)
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES // 2, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    def fuzz(case):
        response, headers = call(case, mode)
        checks = list(CHECKS)
        # A body or path parameter that breaks its schema is refused (4xx). Query parameters
        # are lenient by design (an unknown filter value lists nothing or means no filter).
        if mode == GenerationMode.NEGATIVE and _mutated(case) and _mutated(case) <= VALIDATED:
            checks.append(negative_data_rejection)
        case.validate_response(response, checks=checks, headers=headers)

    return fuzz


@pytest.mark.parametrize("run_seed", SEEDS)
def test_every_operation_conforms(api_schema, fuzz_stack, run_seed):
    # schemathesis' pytest plugin does not run on pytest 9, so each operation's strategy is
    # driven by Hypothesis directly; every operation runs, and the failures are reported together.
    failures, statuses = [], Counter()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    operations = [op for op in operations if not ONLY or op.label.startswith(ONLY)]
    session = requests.Session()

    server = [0.0]

    def call(case, mode):
        # As the admin: every route is reachable, so requests get past auth into validation.
        headers = {**ADMIN, **(case.headers or {})}
        response = case.call(base_url=fuzz_stack.url, session=session, headers=headers, timeout=60)
        statuses[(mode.value, response.status_code // 100 * 100)] += 1
        server[0] += response.elapsed  # seconds
        return response, headers

    started_at = time.monotonic()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, run_seed, call)()
            except Unsatisfiable:
                # nothing to break in this operation's request (no parameters, no body)
                assert mode == GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all, together
                failures.append(f"{operation.label} ({mode.value}): {_summary(exc)}")
    elapsed = time.monotonic() - started_at
    print(f"fuzz seed {run_seed}: {len(operations)} operations, up to {EXAMPLES} examples each "
          f"(half valid, half schema-breaking), {sum(statuses.values())} requests in "
          f"{elapsed:.0f}s ({server[0]:.0f}s waiting on the server); by mode and status class "
          f"{dict(sorted(statuses.items()))}")
    assert not failures, "\n\n".join(failures)
    # The budget was spent, and on both sides of validation.
    assert sum(statuses.values()) >= 5 * len(operations)
    if not ONLY:
        assert statuses[("positive", 200)] > 0 and statuses[("negative", 400)] > 0, statuses


@pytest.mark.parametrize("run_seed", SEEDS)
def test_stateful_links(api_schema, fuzz_stack, run_seed):
    """Scenarios that follow the document's links: a ticket created is read, changed, replied
    to; a calendar, policy or macro written is read back."""
    calls = Counter()
    session = requests.Session()

    class Links(api_schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"base_url": fuzz_stack.url, "session": session, "timeout": 60,
                    "headers": {**ADMIN, **(case.headers or {})}}

        def after_call(self, response, case):
            calls[f"{case.method} {case.path}"] += 1

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, headers=kwargs.get("headers"))

    started_at = time.monotonic()
    Links.run(settings=settings(max_examples=STATEFUL, deadline=None, database=None,
                                stateful_step_count=6, derandomize=False,
                                phases=[Phase.generate, Phase.shrink],
                                suppress_health_check=list(HealthCheck)))
    print(f"stateful seed {run_seed}: {sum(calls.values())} calls in "
          f"{time.monotonic() - started_at:.0f}s")
    assert sum(calls.values()) >= STATEFUL


def test_undocumented_methods_answer_405_with_allow(document, fuzz_stack):
    wrong = []
    for path, item in document["paths"].items():
        documented = {method.upper() for method in item}
        concrete = path.replace("{ticket_id}", "t_0").replace("{agent_id}", "ag_" + "0" * 20) \
            .replace("{customer_id}", "c_0").replace("{decision_id}", "d_0") \
            .replace("{department}", "general").replace("{name}", "x").replace("{token}", "x")
        for method in set(METHODS) - documented:
            response = requests.request(method, f"{fuzz_stack.url}{concrete}", headers=ADMIN,
                                        timeout=30)
            allow = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
            if response.status_code != 405 or allow != documented \
                    or response.json()["error"]["code"] != "method_not_allowed":
                wrong.append(f"{method} {path}: {response.status_code} Allow={sorted(allow)}")
    assert not wrong, "\n".join(wrong)


def test_an_unknown_path_answers_in_the_error_shape(fuzz_stack):
    response = requests.get(f"{fuzz_stack.url}/api/nothing-here", headers=ADMIN, timeout=30)
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_the_fuzzer_reaches_every_documented_operation(api_schema):
    # The document must describe real operations (an empty one would make the tests vacuous).
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 45
