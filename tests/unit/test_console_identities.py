"""Console-only agent identities (services/team/identities.py): never an ARN, the short name
from the email's local part under the short-name rules, unique."""
import pytest

from chalicelib.services.team import agents, identities


@pytest.mark.parametrize("email,short", [
    ("karim@shop.example", "karim"),
    ("Nusrat.Jahan+Support@shop.example", "nusrat.jahan+support"),
    ("করিম@shop.example", "করিম"),
    ("নুসরাত.জাহান@shop.example", "নুসরাত.জাহান"),  # vowel signs (Mc/Mn) kept
    ("o'brien@shop.example", "obrien"),
    ("--.__@shop.example", "agent"),
    ("a/b:c@shop.example", "abc"),  # never a "/" or ":" (the ARN's separators)
])
def test_short_name_from_the_local_part(email, short):
    assert identities.base_short_name(email) == short
    assert identities.unique_short_name(email, set()) == short
    principal = identities.console_principal(short)
    assert agents.short_name(principal) == short and identities.plain_name(principal) == short


def test_numbered_past_names_taken_reserved_words_and_agent_ids():
    assert identities.unique_short_name("karim@x.example", {"karim", "karim2"}) == "karim3"
    assert identities.unique_short_name("me@x.example", set()) == "me2"
    assert identities.unique_short_name("none@x.example", set()) == "none2"
    fake_id = "ag_" + "0" * 20
    assert identities.unique_short_name(f"{fake_id}@x.example", set()) == fake_id + "2"


def test_a_console_identity_is_never_a_principal_nor_an_arn():
    principal = identities.console_principal("karim")
    assert principal == "console:karim" and identities.is_console(principal)
    assert not principal.startswith("arn:") and agents.principal_problem(principal)
    assert not identities.is_console("console:") and not identities.is_console(
        "arn:aws:iam::123456789012:user/console:karim")
    assert identities.short_name("arn:aws:iam::123456789012:user/Karim") == "karim"
