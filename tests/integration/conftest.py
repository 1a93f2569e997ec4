"""Integration fixtures: one emulator (moto server) per test session, a freshly deployed copy of
infra/template.yaml per test (its own stage name, so tests never see each other's data), and
the app called in-process with the same event shapes the local stack delivers."""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest
from chalice.test import Client

from chalicelib import runtime
from local import iam
from local import stack as local_stack
from local.pump import Pump


@dataclass
class Stack:
    stage: str
    endpoint: str
    outputs: dict[str, str]
    pump: Pump
    client: Client


# "Fresh container" mode (local/iam.py): in these files every handler invocation first forgets
# the per-container caches (settings, agents, the signing secret, clients), so first-use paths
# run under each function's policy too (a secret another function cached hid a denial). They
# cover every function; the rest of the suite runs warm, as most invocations on Lambda do.
# SETU_FRESH_CONTAINERS=1 or 0 in the environment applies to every file instead.
FRESH_CONTAINER_FILES = frozenset({
    "test_timers", "test_email", "test_sms", "test_web_form", "test_reports", "test_briefing",
    "test_routing", "test_iam", "test_decisions", "test_pages", "test_signing_secret",
    "test_conversations",
})


@pytest.fixture
def stack(emulator, monkeypatch, request):
    import app

    if "SETU_FRESH_CONTAINERS" not in os.environ \
            and request.module.__name__.rsplit(".", 1)[-1] in FRESH_CONTAINER_FILES:
        monkeypatch.setenv("SETU_FRESH_CONTAINERS", "1")

    stage = "t" + uuid.uuid4().hex[:8]
    outputs = local_stack.deploy(emulator, stage)
    # every handler the tests invoke (API requests, the pump, direct calls) runs under its
    # function's generated policy (local/iam.py; SETU_IAM=audit or off to relax)
    iam.install(app)
    iam.use_stack(emulator, stage, support_domain=local_stack.SUPPORT_DOMAIN)
    iam.clear_denials()
    for name, value in local_stack.environment(outputs, emulator, api_url="http://127.0.0.1:8000").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SETU_SETTINGS_CACHE_SECONDS", "0")
    runtime.reset()
    local_stack.seed_admin()
    pump = Pump(app, outputs, emulator, stage)
    with Client(app.app, stage_name="local") as client:
        yield Stack(stage, emulator, outputs, pump, client)
    runtime.reset()
    iam.forget_policies()
    # a denial the code swallowed (a best-effort cleanup, a logged retry) fails the test too
    if request.node.get_closest_marker("iam_denials_expected") is None:
        denied = iam.denials()
        assert not denied, f"AWS calls outside their function's IAM policy: {denied}"


def pytest_configure(config):
    config.addinivalue_line("markers", "iam_denials_expected: the test makes a function's "
                            "policy deny a call on purpose (the stack fixture checks none did)")
