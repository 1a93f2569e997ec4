"""The `setu` admin command (setu_cli), called in-process against the emulated AWS."""
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chalicelib import clock
from chalicelib.services.team import agents
from setu_cli.main import main, table
from tests.integration.helpers import Api, new_ticket

ROOT = Path(__file__).resolve().parents[2]
BOSS = "arn:aws:iam::123456789012:role/SetuAdmins"


def _audit(target: str) -> list[dict]:
    from chalicelib.services.team import audit

    items, _ = audit.day(audit.today(), limit=200)
    return [e for e in items if e["target"] == target]


def test_bootstrap_admin_is_idempotent_and_audited(stack, capsys):
    argv = ["bootstrap-admin", "--principal", BOSS, "--name", "Boss", "--email", "boss@example.com"]
    assert main(argv) == 0
    assert "created admin" in capsys.readouterr().out
    view = agents.resolve(BOSS)
    assert view.role == "admin" and view.display_name == "Boss"
    assert main(argv) == 0
    assert "already an active admin" in capsys.readouterr().out
    [entry] = _audit(f"agent:{BOSS}")
    assert entry["action"] == "agent.bootstrapped" and entry["actor"].startswith("cli:")
    assert entry["before"] is None and entry["after"]["role"] == "admin"
    # the new admin works through the API at once, addressed by its id
    status, me = Api(stack.client, BOSS).get("/api/me")
    assert status == 200 and me["id"] == agents.agent_id(BOSS) and me["email"] == "boss@example.com"


def test_bootstrap_promotes_and_reactivates_an_existing_agent(stack, capsys):
    agents.ensure_agent(BOSS, role="lead", display_name="Kept")
    api = Api(stack.client)
    assert api.patch(f"/api/agents/{agents.agent_id(BOSS)}", {"active": False})[0] == 200
    assert main(["bootstrap-admin", "--principal", BOSS, "--name", "Ignored"]) == 0
    assert "made an active admin" in capsys.readouterr().out
    _, agent = api.get(f"/api/agents/{agents.agent_id(BOSS)}")
    assert (agent["role"], agent["active"], agent["display_name"]) == ("admin", True, "Kept")
    entry = _audit(f"agent:{BOSS}")[-1]
    assert entry["before"] == {"role": "lead", "active": False}
    assert entry["after"] == {"role": "admin", "active": True}


@pytest.mark.parametrize("argv", [
    ["bootstrap-admin", "--principal", "arn:aws:iam::123456789012:root"],
    ["bootstrap-admin", "--principal", BOSS, "--email", "not-mail"],
])
def test_bootstrap_refuses_bad_input(stack, capsys, argv):
    assert main(argv) == 2
    assert "setu: Invalid admin." in capsys.readouterr().err
    assert agents.resolve(BOSS) is None


def test_tickets_lists_a_created_ticket(stack, capsys):
    api = Api(stack.client)
    created = new_ticket(api, subject="ইন্টারনেট সংযোগ নেই", department="technical")
    other = new_ticket(api, email="other@example.com", subject="Invoice", department="billing")
    capsys.readouterr()  # the API's metric lines (EMF on stdout)
    assert main(["tickets"]) == 0
    out = capsys.readouterr().out
    assert created["ref"] in out and other["ref"] in out and "ইন্টারনেট সংযোগ নেই" in out
    assert out.splitlines()[0].split()[:3] == ["REF", "STATUS", "PRIORITY"]
    assert out.rstrip().endswith("(2 tickets)")

    assert main(["tickets", "--department", "technical", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [t["id"] for t in listed] == [created["id"]]
    assert main(["tickets", "--limit", "1", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_tickets_bad_filter_is_exit_2(stack, capsys):
    assert main(["tickets", "--status", "lost"]) == 2
    assert "status" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["tickets", "--limit", "0"])


def test_report_exports_csv_and_json(stack, capsys, tmp_path):
    api = Api(stack.client)
    new_ticket(api, subject="Report me", department="billing")
    new_ticket(api, email="second@example.com", subject="And me", department="billing")
    stack.pump.drain()  # the report consumers keep the counters from the streams
    capsys.readouterr()
    out = tmp_path / "report.csv"
    assert main(["report", "--output", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    import csv

    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert next(r for r in rows if r["row"] == "total")["created"] == "2"
    assert main(["report", "--format", "json", "--department", "billing"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["totals"]["created"] == 2 and len(report["days"]) == 30
    assert main(["report", "--from", "2026-01-01", "--to", "2026-12-31"]) == 2  # > 92 days
    assert "at most 92 days" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", "--from", "yesterday"])


def test_stage_and_local_point_at_the_stage_tables(stack, capsys, tmp_path, monkeypatch):
    api = Api(stack.client)
    created = new_ticket(api)
    capsys.readouterr()  # the API's metric lines (EMF on stdout)
    # --local: the local stack's .setu/local.json (here: this test's stack)
    state = tmp_path / ".setu"
    state.mkdir()
    (state / "local.json").write_text(json.dumps({
        "outputs": stack.outputs, "aws_endpoint_url": stack.endpoint, "region": "us-east-1",
        "api_url": "http://127.0.0.1:8000", "stage": "local"}))
    monkeypatch.chdir(tmp_path)
    assert main(["tickets", "--local", "--json"]) == 0
    assert [t["id"] for t in json.loads(capsys.readouterr().out)] == [created["id"]]
    # --stage: the tables CloudFormation names setu-<stage>-*
    monkeypatch.setenv("SETU_TICKETS_TABLE", "somewhere-else")
    assert main(["tickets", "--stage", stack.stage, "--json"]) == 0
    assert [t["id"] for t in json.loads(capsys.readouterr().out)] == [created["id"]]


def test_nowhere_is_an_error(stack, monkeypatch, tmp_path):
    monkeypatch.delenv("SETU_STAGE")
    with pytest.raises(SystemExit):
        main(["tickets"])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        main(["tickets", "--local"])


def test_replay_delegates_to_infra_replay(stack, capsys):
    assert main(["replay", "timers", "--stage", stack.stage, "--dry-run"]) == 0
    assert f"timers dead letters of setu-{stack.stage}: would replay 0" in capsys.readouterr().out


def test_table_of_nothing():
    assert table([]).splitlines() == [
        "REF  STATUS  PRIORITY  DEPARTMENT  ASSIGNEE  CUSTOMER  DUE  SUBJECT", "(0 tickets)"]


def test_tickets_by_short_name_show_the_same_name_and_dhaka_times(stack, capsys):
    karim = "arn:aws:iam::123456789012:user/karim"
    agents.ensure_agent(karim, role="agent", display_name="Karim", departments={"general"})
    api = Api(stack.client)
    his = new_ticket(api, name="রহিম উদ্দিন", subject="Refund")
    other = new_ticket(api, email="other@example.com", subject="Other")
    assert api.patch(f"/api/tickets/{his['id']}", {"assignee": "karim"})[0] == 200
    assert api.patch(f"/api/tickets/{other['id']}", {"status": "pending"})[0] == 200
    capsys.readouterr()
    assert main(["tickets", "--assignee", "karim"]) == 0
    out = capsys.readouterr().out
    [header, row, count] = out.splitlines()
    assert his["ref"] in row and "karim" in row.split() and "রহিম উদ্দিন" in row
    assert count == "(1 ticket)" and other["ref"] not in out
    # DUE in the business time zone, with its offset
    _, ticket = api.get(f"/api/tickets/{his['id']}")
    due = clock.parse_iso(ticket["sla"]["first_response_due"]).astimezone(ZoneInfo("Asia/Dhaka"))
    assert due.strftime("%Y-%m-%d %H:%M") + " +06" in row
    # the table's ASSIGNEE is what --assignee takes; none, several statuses, a typed time
    assert main(["tickets", "--assignee", "none", "--status", "new,pending", "--json"]) == 0
    assert [t["id"] for t in json.loads(capsys.readouterr().out)] == [other["id"]]
    assert main(["tickets", "--q", "রহিম", "--json"]) == 0
    assert [t["id"] for t in json.loads(capsys.readouterr().out)] == [his["id"]]
    later = (due + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
    assert main(["tickets", "--assignee", "karim", "--due-before", later, "--json"]) == 0
    assert [t["id"] for t in json.loads(capsys.readouterr().out)] == [his["id"]]
    assert main(["tickets", "--assignee", "nobody"]) == 2
    assert "assignee" in capsys.readouterr().err


def test_the_app_never_imports_the_cli():
    code = "import sys, app; print(sorted(m for m in sys.modules if m.startswith('setu_cli')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
    assert not [p for p in (ROOT / "chalicelib").rglob("*.py") if "setu_cli" in p.read_text()]


def test_assign_by_short_name_and_a_callback_at_a_local_time(stack, capsys):
    nusrat = "arn:aws:sts::123456789012:assumed-role/SupportAgents/nusrat"
    agents.ensure_agent(nusrat, role="agent", display_name="Nusrat", departments={"general"})
    api = Api(stack.client)
    created = new_ticket(api)
    capsys.readouterr()
    assert main(["assign", created["ref"], "nusrat"]) == 0
    assert f"#{created['ref']} assigned to nusrat" in capsys.readouterr().out
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert ticket["assignee"] == nusrat
    [assigned] = [e for e in ticket["timeline"] if e.get("type") == "ticket.assigned"]
    assert assigned["actor"].startswith("cli:") and assigned["data"]["to"] == nusrat
    assert main(["assign", created["ref"], "nobody-at-all"]) == 2
    assert "assignee" in capsys.readouterr().err
    assert main(["assign", created["ref"], "me"]) == 2
    capsys.readouterr()

    dhaka = ZoneInfo("Asia/Dhaka")
    tomorrow = (clock.now().astimezone(dhaka) + timedelta(days=1)).date().isoformat()
    assert main(["callback", created["ref"], "--at", f"{tomorrow} 15:00", "--note", "ফোন"]) == 0
    assert f"callback at {tomorrow} 15:00 +06" in capsys.readouterr().out
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    [scheduled] = [e for e in ticket["timeline"] if e.get("type") == "callback.scheduled"]
    assert clock.parse_iso(scheduled["data"]["at"]).astimezone(dhaka).strftime("%H:%M") == "15:00"
    assert main(["assign", created["ref"], "none"]) == 0
    assert "assigned to nobody" in capsys.readouterr().out
    assert main(["callback", created["ref"], "--at", "later"]) == 2
    assert "2026-12-07 15:00" in capsys.readouterr().err


def test_briefing_preview_and_send(stack, capsys):
    import uuid

    from tests.integration.test_briefing import sent_mail

    tag = uuid.uuid4().hex[:8]
    lead = f"arn:aws:iam::123456789012:user/clilead-{tag}"
    agents.ensure_agent(lead, role="lead", display_name="Cli Lead",
                        email=f"clilead-{tag}@example.com", departments={"billing"})
    api = Api(stack.client)
    new_ticket(api, subject="Briefed by the CLI", department="billing")
    capsys.readouterr()
    assert main(["briefing", "--preview", "--department", "billing"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("== billing ") and "Subject: Daily briefing, Billing, " in out
    assert "sent today: nobody yet" in out and "Good morning" in out
    assert main(["briefing", "--preview", "--department", "billing", "--json",
                 "--lang", "bn"]) == 0
    (preview,) = json.loads(capsys.readouterr().out)
    assert preview["lang"] == "bn" and preview["counts"]["active"] >= 1
    assert preview["department"] == "billing" and "দৈনিক ব্রিফিং" in preview["subject"]
    assert main(["briefing", "--send", "--department", "billing",
                 "--agent", agents.agent_id(lead)]) == 0
    assert "sent to Cli Lead" in capsys.readouterr().out
    (mail,) = sent_mail(stack, tag)
    assert mail["To"] == f"clilead-{tag}@example.com"
    entries = [e for e in _audit("briefing:billing#" + preview["date"])
               if e["action"] == "briefing.sent"]
    assert entries and entries[-1]["actor"].startswith("cli:")
    assert main(["briefing", "--preview", "--department", "nowhere"]) == 2
    assert "Unknown department" in capsys.readouterr().err
    assert main(["briefing", "--send", "--date", "2030-01-01"]) == 2
    with pytest.raises(SystemExit):
        main(["briefing", "--department", "billing"])  # --preview or --send


def test_agents_invite_creates_the_console_user_and_links_it(stack, capsys):
    from local import stack as local_stack

    agents.ensure_agent("arn:aws:iam::123456789012:user/karim", role="agent",
                        display_name="Karim", email="karim@shop.example")
    assert main(["agents", "invite", "karim"]) == 0
    assert "sent: karim@shop.example (Karim)" in capsys.readouterr().out
    idp = local_stack.client("cognito-idp", stack.endpoint)
    user = idp.admin_get_user(UserPoolId=stack.outputs["UserPoolId"], Username="karim@shop.example")
    sub = {a["Name"]: a["Value"] for a in user["UserAttributes"]}["sub"]
    from chalicelib.services.team import console_access

    assert console_access.by_sub(sub) == "arn:aws:iam::123456789012:user/karim"
    [entry] = [e for e in _audit("agent:arn:aws:iam::123456789012:user/karim")
               if e["action"] == "agent.invited"]
    assert entry["actor"].startswith("cli:")
    # nobody by that name: the command says so (exit 2), no user is made
    assert main(["agents", "invite", "nobody"]) == 2
    assert "nobody" in capsys.readouterr().err
