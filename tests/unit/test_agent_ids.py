"""Agent ids and the principal ARNs an agent may be (services/team/agents.py), no AWS."""
import hashlib

import pytest

from chalicelib.db import cursors
from chalicelib.services.team import agents


def test_id_is_stable_opaque_and_path_safe():
    arn = "arn:aws:iam::123456789012:user/dev/rina"
    first = agents.agent_id(arn)
    assert first == agents.agent_id(arn)
    assert first == "ag_" + hashlib.sha256(arn.encode()).hexdigest()[:20]
    assert agents.is_agent_id(first) and "/" not in first and len(first) == 23
    assert agents.agent_id(arn + "x") != first


@pytest.mark.parametrize("text", ["", "ag_", "ag_123", "AG_" + "0" * 20, "ag_" + "g" * 20,
                                  "ag_" + "0" * 21, None, 7, "ag_" + "0" * 20 + "\n"])
def test_is_agent_id_refuses(text):
    assert not agents.is_agent_id(text)


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::123456789012:user/rina",
    "arn:aws:iam::123456789012:user/support/dhaka/rina.begum@example.com",
    "arn:aws:iam::123456789012:role/SupportTeam",
    "arn:aws:sts::123456789012:assumed-role/SupportTeam/rina@example.com",
    "arn:aws-cn:iam::123456789012:user/rina",
    "arn:aws-us-gov:iam::123456789012:role/Admins",
])
def test_principals_accepted(arn):
    assert agents.principal_problem(arn) is None


@pytest.mark.parametrize("arn,says", [
    ("", "IAM user or role ARN"),
    (None, "IAM user or role ARN"),
    ("rina", "IAM user or role ARN"),
    ("arn:aws:iam::123456789012:root", "IAM user or role ARN"),
    ("arn:aws:iam::12345:user/rina", "IAM user or role ARN"),
    ("arn:aws:iam::123456789012:group/support", "IAM user or role ARN"),
    ("arn:aws:iam::123456789012:user/", "IAM user or role ARN"),
    ("arn:aws:iam::123456789012:user/ri na", "IAM user or role ARN"),
    ("arn:aws:sts::123456789012:assumed-role/SupportTeam", "IAM user or role ARN"),
    ("arn:aws:sts::123456789012:federated-user/rina", "IAM user or role ARN"),
    ("arn:aws:iam::123456789012:user/রিনা", "IAM user or role ARN"),
    ("arn:aws:iam::123456789012:role/service-role/Support", "without its path"),
    ("arn:aws:iam::123456789012:user/" + "x" * 2048, "2048"),
])
def test_principals_refused_with_a_reason(arn, says):
    assert says in agents.principal_problem(arn)


def test_cursor_round_trip_and_garbage():
    arn = "arn:aws:iam::123456789012:user/dev/rina"
    assert agents._decode_cursor(cursors.encode_text(arn)) == arn
    for garbage in ("!!!", "bm9wZQ", "x" * 4000, "_w"):
        assert agents._decode_cursor(garbage) is None


def test_a_trailing_newline_is_not_a_principal():
    assert agents.principal_problem("arn:aws:iam::123456789012:user/rina\n")
