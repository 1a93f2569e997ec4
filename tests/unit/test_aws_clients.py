"""chalicelib/integrations/aws.py: every botocore session of the process, pynamodb's included,
parses botocore's data files once (one shared loader), while credentials and configuration stay
per session. No AWS calls: sessions and clients only."""
from __future__ import annotations

import botocore.session
import pytest

from chalicelib.integrations import aws


@pytest.fixture(autouse=True)
def _restore_pynamodb_sessions(monkeypatch):
    from pynamodb.connection import base

    monkeypatch.setattr(base, "get_session", base.get_session)


def test_sessions_share_the_loader_and_nothing_else():
    first, second = aws.botocore_session(), aws.botocore_session()
    assert first is not second
    assert first.get_component("data_loader") is second.get_component("data_loader")
    assert botocore.session.get_session().get_component("data_loader") is not \
        first.get_component("data_loader")  # a plain session has its own
    first.set_credentials("AKIAFIRST", "first-secret")
    second.set_credentials("AKIASECOND", "second-secret")
    assert first.get_credentials().access_key == "AKIAFIRST"
    assert second.get_credentials().access_key == "AKIASECOND"


def test_a_second_client_reuses_the_parsed_endpoint_rules(monkeypatch):
    loader = aws.botocore_session().get_component("data_loader")
    aws.botocore_session().create_client("sqs", region_name="ap-south-1")  # fills the cache
    reads = []
    original = loader.file_loader.load_file

    def counting(file_path):
        reads.append(file_path)
        return original(file_path)

    monkeypatch.setattr(loader.file_loader, "load_file", counting)
    sqs = aws.botocore_session().create_client("sqs", region_name="ap-southeast-1")
    assert sqs.meta.region_name == "ap-southeast-1"
    assert reads == []  # endpoints, partitions and the service model came from the cache


def test_pynamodb_connections_use_the_shared_loader():
    from pynamodb.connection import Connection

    aws.share_loader_with_pynamodb()
    session = Connection(region="ap-south-1").session
    assert session.get_component("data_loader") is aws.botocore_session().get_component(
        "data_loader")


def _sent_user_agent(client) -> str:
    """The User-Agent of a call, taken as it is sent (answered here: no AWS)."""
    from botocore.awsrequest import AWSResponse

    sent = []

    class Raw:
        def stream(self, **_):
            yield b"{}"

    def answer(request, **_):
        agent = request.headers["User-Agent"]
        sent.append(agent.decode() if isinstance(agent, bytes) else agent)
        return AWSResponse(request.url, 200, {}, Raw())

    client.meta.events.register("before-send", answer)
    return sent


def test_every_client_names_setu_as_its_user_agent(monkeypatch):
    from pynamodb.connection import Connection

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example-secret")
    aws.share_loader_with_pynamodb()
    sqs = aws.botocore_session().create_client("sqs", region_name="ap-south-1")
    dynamodb = Connection(region="ap-south-1").client  # pynamodb's own config, merged
    sent_sqs, sent_dynamodb = _sent_user_agent(sqs), _sent_user_agent(dynamodb)
    sqs.list_queues()
    dynamodb.list_tables()
    # other libraries' extras (powertools, chalice) may follow, as they do in the app
    assert len(sent_sqs) == len(sent_dynamodb) == 1 and sent_sqs == sent_dynamodb
    assert sent_sqs[0].startswith(f"Setu Botocore/{botocore.__version__}")
    # pynamodb's own settings are kept (botocore's defaults would be 60 s and 10 connections)
    assert (dynamodb.meta.config.read_timeout, dynamodb.meta.config.connect_timeout) == (30, 15)
