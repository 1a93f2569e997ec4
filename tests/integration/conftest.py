"""Integration fixtures: one emulator (moto server) per test session, a freshly deployed copy of
infra/template.yaml per test (its own stage name, so tests never see each other's data), and
the app called in-process with the same event shapes the local stack delivers."""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

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


@pytest.fixture
def stack(emulator, monkeypatch):
    import app

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
