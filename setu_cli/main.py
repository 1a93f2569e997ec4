"""`setu`: a small command line for admins, using the same services as the API.

    setu bootstrap-admin --principal ARN [--name N] [--email E]  (--stage S | --local)
    setu tickets [--status S[,S]] [--department D] [--assignee me|none|ID|NAME|ARN] [--q TEXT]
                 [--sla breached|on_track] [--due-within PT2H] [--due-before TIME]
                 [--has-decision true|false] [--limit N] [--json]
    setu assign TICKET AGENT|none                       (an agent's short name, id or ARN)
    setu callback TICKET --at "2026-12-07 15:00" [--note TEXT]
    setu report [--from DATE] [--to DATE] [--department D] [--by day|agent|department|channel]
                [--format json|csv] [--output FILE]
    setu briefing (--preview | --send) [--department D] [--date DATE] [--agent ID|ARN]
                [--lang bn|en] [--json]
    setu erase-customer CUSTOMER_ID (--stage S | --local) [--bucket B]
    setu replay timers|events|streams (--stage S | --local) [--dry-run] [--max N]
    setu departments [list | show NAME | put NAME [--label-bn T] [--label-en T] [--address A]
                     [--form yes|no] [--order N] [--calendar C] [--default-policy P]
                     [--active yes|no] [--body JSON] | delete NAME] [--json]
    setu rotate-signing-key (--stage S | --local) [--keep N] [--drop KID] [--secret ARN]
    setu agents invite AGENT [--user-pool ID]  (an agent's id, short name or ARN; docs/console.md)
    setu agents add (--email E | --principal ARN) --role agent|lead|admin [--name N]
                    [--departments D,D] [--lang bn|en]  (by email alone: a console-only agent)
    setu notifications --principal ARN|console:NAME [--kinds K,K | --all-kinds] [--quiet HH:MM-HH:MM | --quiet off]
                       [--digest-after N] [--reset]  (--stage S | --local)

Where: `--stage dev` works on the deployed stage's tables (setu-dev-tickets, ...) with the AWS
credentials and region of the environment (AWS_PROFILE, AWS_REGION, or `--region`);
`--local` on the running local stack (`make dev`, described by .setu/local.json); with
neither, SETU_STAGE and SETU_*_TABLE from the environment (as the Lambda functions have them).
Times are shown in the business time zone with its offset (`2026-12-07 11:19 +06`); a time
typed without an offset (`--due-before "2026-12-07 18:00"`) is read in that zone
(SETU_BUSINESS_TIMEZONE, default Asia/Dhaka; chalicelib/clock.parse_typed).
Installed by `make venv` (pip install -e .); `python -m setu_cli` works too.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

LOCAL_STATE = Path(".setu/local.json")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "replay":
        from infra import replay
        from local.replay import local_invoke

        return replay.main([args.what, *args.rest], local_invoke=local_invoke)
    _target(parser, args)
    from chalicelib.errors import ApiError

    try:
        return args.run(args)
    except ApiError as error:
        fields = "".join(f"\n  {name}: {why}" for name, why in error.fields.items())
        print(f"setu: {error.message}{fields}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="setu", description="Setu admin commands.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    where = argparse.ArgumentParser(add_help=False)
    group = where.add_mutually_exclusive_group()
    group.add_argument("--stage", help="the deployed stage, e.g. dev (tables setu-<stage>-*)")
    group.add_argument("--local", action="store_true",
                       help="the running local stack (.setu/local.json)")
    where.add_argument("--region", help="AWS region of the stage (default: the environment's)")

    boot = commands.add_parser(
        "bootstrap-admin", parents=[where], help="make a principal an active admin (idempotent)",
        description="The first admin of a fresh stage: registers the IAM user or role ARN as an "
                    "active admin, or promotes/reactivates an existing agent. Running it again "
                    "changes nothing. Audited as cli:<your AWS identity>.")
    boot.add_argument("--principal", required=True,
                      help="IAM user or role ARN (or an STS assumed-role ARN)")
    boot.add_argument("--name", default="", help="display name (new admins only)")
    boot.add_argument("--email", default="", help="email address (new admins only)")
    boot.set_defaults(run=_bootstrap_admin)

    listing = commands.add_parser("tickets", parents=[where], help="list tickets",
                                  description="Tickets sorted by due time, as GET /api/tickets.")
    listing.add_argument("--status", help="one or more, comma-separated: open,pending")
    listing.add_argument("--department")
    listing.add_argument("--assignee", help="none, an agent id, a short name (karim) or a "
                                            "principal ARN")
    listing.add_argument("--q", help="search: ref, email, phone, subject words or the "
                                     "beginning of the customer's name")
    listing.add_argument("--sla", choices=("breached", "on_track"))
    listing.add_argument("--due-within", help="an SLA due within this ISO 8601 duration, PT2H")
    listing.add_argument("--due-before", help="an SLA due before this time: \"2026-12-07 "
                                              "18:00\" (business time zone) or with an offset")
    listing.add_argument("--has-decision", choices=("true", "false"))
    listing.add_argument("--limit", type=_positive, default=25, help="at most this many (25)")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    listing.set_defaults(run=_tickets)

    assign = commands.add_parser(
        "assign", parents=[where], help="assign a ticket to an agent (or none)",
        description="As PATCH /api/tickets/{id} {\"assignee\"}: the agent by short name "
                    "(karim), id (ag_...) or principal ARN; `none` unassigns. Audited and on "
                    "the timeline as cli:<your AWS identity>.")
    assign.add_argument("ticket", help="the ticket's ref (1042, #১০৪২) or id")
    assign.add_argument("agent", help="short name, agent id, principal ARN, or none")
    assign.set_defaults(run=_assign)

    callback = commands.add_parser(
        "callback", parents=[where], help="schedule a callback on a ticket",
        description="As POST /api/tickets/{id}/callbacks: at that time the ticket gets "
                    "callback.due. A time without an offset is business time (Asia/Dhaka).")
    callback.add_argument("ticket", help="the ticket's ref or id")
    callback.add_argument("--at", required=True, help='"2026-12-07 15:00" or ISO 8601 with an offset')
    callback.add_argument("--note", default="")
    callback.set_defaults(run=_callback)

    report = commands.add_parser(
        "report", parents=[where], help="export a report (JSON or CSV)",
        description="The report of GET /api/reports: days in the business time zone, both "
                    "ends included, at most 92 days (default: the last 30 days).")
    report.add_argument("--from", dest="start", type=_date, help="first day, YYYY-MM-DD")
    report.add_argument("--to", dest="end", type=_date, help="last day, YYYY-MM-DD (today)")
    report.add_argument("--department")
    report.add_argument("--by", default="day", choices=("day", "agent", "department", "channel"))
    report.add_argument("--format", default="csv", choices=("csv", "json"))
    report.add_argument("--output", type=Path, help="write to this file instead of stdout")
    report.set_defaults(run=_report)

    brief = commands.add_parser(
        "briefing", parents=[where], help="preview or send the daily briefing now",
        description="As GET /api/briefing and POST /api/briefing/send: --preview prints the "
                    "briefing mail a department's lead (or --agent's) would get (today by "
                    "default, or --date up to 31 days ahead) and who got the scheduled one; "
                    "--send mails today's briefing now to every recipient of the department "
                    "(or --agent only), audited as cli:<your AWS identity>. Without "
                    "--department: every department.")
    action = brief.add_mutually_exclusive_group(required=True)
    action.add_argument("--preview", action="store_true", help="print, send nothing")
    action.add_argument("--send", action="store_true", help="send now")
    brief.add_argument("--department")
    brief.add_argument("--date", type=_date, help="the day to preview, YYYY-MM-DD (today)")
    brief.add_argument("--agent", help="agent id (ag_...) or principal ARN: their digest only")
    brief.add_argument("--lang", choices=("bn", "en"), help="language of the preview")
    brief.add_argument("--json", action="store_true", help="the whole preview as JSON")
    brief.set_defaults(run=_briefing)

    erase = commands.add_parser(
        "erase-customer", parents=[where], help="erase a customer's personal data (idempotent)",
        description="As POST /api/customers/{id}/erase: the customer's record, identities, "
                    "ticket subjects and search keys, message texts, attachments and raw mail "
                    "(every object version) are removed; anonymised ticket shells and the "
                    "suppression of their addresses stay. Run it again to finish an "
                    "interrupted erasure. Audited as cli:<your AWS identity>.")
    erase.add_argument("customer", help="customer id (c_...)")
    erase.add_argument("--bucket", help="the stage's mail bucket (default with --stage: "
                                        "setu-<stage>-mail-<account id>)")
    erase.set_defaults(run=_erase_customer)

    rotate = commands.add_parser(
        "rotate-signing-key", parents=[where], help="add a new link-signing key and make it current",
        description="Adds a new random key k<n+1> to the stage's signing secret (setu-<stage>-"
                    "signing) and makes it current: new links, reply addresses and nonces are "
                    "signed with it; links signed with the kept older keys keep working until "
                    "they expire (docs/security.md: the grace period). --keep N keeps the N "
                    "newest older keys (default: all); --drop KID removes one old key without "
                    "adding a new one. Lambda containers pick the change up when they are "
                    "replaced (each reads the secret once).")
    rotate.add_argument("--keep", type=_positive, help="older keys to keep (default: all)")
    rotate.add_argument("--drop", metavar="KID", help="remove this old key only (no rotation)")
    rotate.add_argument("--secret", help="the secret's name or ARN (default: setu-<stage>-signing)")
    rotate.set_defaults(run=_rotate_signing_key)

    depts = commands.add_parser(
        "departments", parents=[where], help="list, show, create, change or remove departments",
        description="As GET/PUT/DELETE /api/departments: `put` creates a department or changes "
                    "the fields given (a new one needs --label-bn and --label-en); `delete` "
                    "removes one nobody refers to and deactivates one in use (general stays). "
                    "Writes are audited as cli:<your AWS identity>.")
    depts.add_argument("action", nargs="?", default="list", choices=("list", "show", "put", "delete"))
    depts.add_argument("name", nargs="?", help="the department (show, put, delete)")
    depts.add_argument("--label-bn")
    depts.add_argument("--label-en")
    depts.add_argument("--address", help="From/To address at the support domain ('' = default)")
    depts.add_argument("--form", choices=("yes", "no"), help="a choice on the web form")
    depts.add_argument("--order", type=int, help="its place among the form's choices")
    depts.add_argument("--calendar", help="a calendar name ('' = none)")
    depts.add_argument("--default-policy", help="an SLA policy name ('' = none)")
    depts.add_argument("--active", choices=("yes", "no"))
    depts.add_argument("--body", help="the fields as JSON (as PUT /api/departments/{name})")
    depts.add_argument("--json", action="store_true", help="JSON instead of a table")
    depts.set_defaults(run=_departments)

    team = commands.add_parser(
        "agents", parents=[where], help="add an agent, or invite one to the console",
        description="`add`: as POST /api/agents: --principal ARN for someone with an IAM "
                    "identity, or --email alone for someone who only uses the console (keyed "
                    "console:<short name>; then `invite` them). "
                    "`invite`: as POST /api/agents/{id}/invite: Cognito creates the agent's "
                    "console user (their email) and mails the invitation; again, it resends it "
                    "while unused. The pool: --user-pool, SETU_USER_POOL_ID, or the stage's "
                    "setu-<stage>-console pool. Audited as cli:<your AWS identity>.")
    team.add_argument("action", choices=("add", "invite"))
    team.add_argument("agent", nargs="?",
                      help="invite: the agent's id (ag_...), short name or principal ARN")
    team.add_argument("--user-pool", help="invite: the Cognito user pool id (default: found "
                                          "by name)")
    team.add_argument("--email", help="add: the agent's address (alone: a console-only agent)")
    team.add_argument("--principal", help="add: the agent's IAM user/role ARN")
    team.add_argument("--role", choices=("agent", "lead", "admin"), help="add: the role")
    team.add_argument("--name", help="add: the display name")
    team.add_argument("--departments", help="add: comma-separated department names")
    team.add_argument("--lang", choices=("bn", "en"), help="add: the language of their mail")
    team.set_defaults(run=_agents)

    notify = commands.add_parser(
        "notifications", parents=[where], help="show or set an agent's staff mail preferences",
        description="Which staff mails an agent gets (kinds: assigned, customer_replied, "
                    "callback_due, sla_warning, decision_requested, decision_decided, "
                    "escalation), their quiet hours (business time zone, Asia/Dhaka) and after "
                    "how many single mails in a window the rest wait for a digest. Without "
                    "options it shows them. As PATCH /api/agents/{id} {\"notifications\": ...}; "
                    "agents set their own with PUT /api/me/notifications. Audited as "
                    "cli:<your AWS identity>.")
    notify.add_argument("--principal", required=True, help="the agent's IAM principal ARN")
    kinds = notify.add_mutually_exclusive_group()
    kinds.add_argument("--kinds", help="comma-separated kinds wanted (the others are off)")
    kinds.add_argument("--all-kinds", action="store_true", help="every kind (the default)")
    notify.add_argument("--quiet", help="quiet hours, e.g. 22:00-08:00, or off")
    notify.add_argument("--digest-after", type=int, help="single mails per window before a digest")
    notify.add_argument("--reset", action="store_true", help="back to the defaults")
    notify.set_defaults(run=_notifications)

    replay = commands.add_parser(
        "replay", help="replay a dead-letter queue (python -m infra.replay)",
        description="Delegates to infra/replay.py: setu replay timers|events|streams (--stage S | --local) "
                    "[--dry-run] [--max N].")
    replay.add_argument("what", choices=("timers", "events", "streams"))
    replay.add_argument("rest", nargs=argparse.REMAINDER, help="--stage S | --local, --dry-run, --max N")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


def _date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a date, YYYY-MM-DD") from None


def _target(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Point chalicelib at the chosen stage's tables (through the environment it reads)."""
    from chalicelib import config, runtime

    if args.local:
        if not LOCAL_STATE.exists():
            parser.error("no local stack is running (.setu/local.json is missing; `make dev`)")
        from local import stack

        info = json.loads(LOCAL_STATE.read_text(encoding="utf-8"))
        os.environ.update(stack.environment(info["outputs"], info["aws_endpoint_url"],
                                            api_url=info.get("api_url", ""),
                                            region=info.get("region", stack.REGION)))
    elif args.stage:
        os.environ["SETU_STAGE"] = args.stage
        for table in config.TABLES:
            os.environ[f"SETU_{table.upper()}_TABLE"] = f"setu-{args.stage}-{table}"
    elif not os.environ.get("SETU_STAGE"):
        parser.error("say where: --stage STAGE, --local, or SETU_STAGE in the environment")
    if args.region:
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = args.region
    runtime.reset()


def _bootstrap_admin(args: argparse.Namespace) -> int:
    from chalicelib.services.team import agents

    outcome, agent = agents.bootstrap_admin(args.principal, display_name=args.name,
                                            email=args.email, actor=_actor())
    stage = os.environ.get("SETU_STAGE", "")
    said = {"created": "created admin", "promoted": "made an active admin:",
            "unchanged": "already an active admin:"}[outcome]
    print(f"{said} {agent['principal']} (id {agent['id']}) on stage {stage}")
    return 0


def _notifications(args: argparse.Namespace) -> int:
    from chalicelib.services.team import agents, identities

    if agents.principal_problem(args.principal) and not identities.is_console(args.principal):
        print(f"setu: not an agent: {args.principal}", file=sys.stderr)
        return 2
    record = agents.find(agents.agent_id(args.principal))  # NotFound: exit 2
    prefs = agents.view(record)["notifications"]
    if args.reset:
        prefs = None
    else:
        if args.kinds is not None:
            prefs["kinds"] = [k.strip() for k in args.kinds.split(",") if k.strip()]
        if args.all_kinds:
            prefs["kinds"] = list(agents.notifications.KINDS)
        if args.quiet is not None:
            start, _, end = args.quiet.partition("-")
            prefs["quiet_hours"] = None if args.quiet == "off" else {"start": start, "end": end}
        if args.digest_after is not None:
            prefs["digest_after"] = args.digest_after
    changing = args.reset or any(v is not None for v in (args.kinds, args.quiet, args.digest_after)) \
        or args.all_kinds
    if changing:
        admin = agents.AgentView(principal=_actor(), role="admin", display_name="cli",
                                 departments=frozenset())
        prefs = agents.update(admin, agents.agent_id(args.principal),
                              {"notifications": prefs})["notifications"]
    quiet = prefs["quiet_hours"]
    print(f"{args.principal}\n  kinds: {', '.join(prefs['kinds']) or '(none)'}\n"
          f"  quiet hours: {quiet['start'] + '-' + quiet['end'] + ' (Asia/Dhaka)' if quiet else 'none'}\n"
          f"  digest after: {prefs['digest_after']} mails in a window")
    return 0


def _erase_customer(args: argparse.Namespace) -> int:
    from chalicelib import runtime
    from chalicelib.services.customers import erase

    if args.bucket:
        os.environ["SETU_MAIL_BUCKET"] = args.bucket
    elif args.stage and not os.environ.get("SETU_MAIL_BUCKET"):
        from chalicelib.integrations import aws

        account = aws.client("sts").get_caller_identity()["Account"]
        os.environ["SETU_MAIL_BUCKET"] = f"setu-{args.stage}-mail-{account}"
    runtime.reset()
    result = erase.erase(args.customer, _actor())
    print(f"customer {result['customer']}: {result['state']}, {result['tickets']} tickets, "
          f"{result.get('versions', 0)} object versions deleted")
    return 0


def rotated(value: dict, *, keep: int | None = None, drop: str | None = None,
            new_key: str | None = None) -> dict:
    """The signing secret's JSON after a rotation (a new current key k<n+1>, `keep` older
    ones) or after dropping the old key `drop`. ValueError for what must not be done."""
    import secrets
    import string

    from chalicelib.services.messaging import signing

    current, keys = signing.parse(json.dumps(value))
    kids = sorted(keys, key=lambda k: int(k[1:]))
    if drop is not None:
        if drop == current:
            raise ValueError(f"{drop} is the current key: rotate first, then drop it after the grace period")
        if drop not in keys:
            raise ValueError(f"no key {drop} (the secret has {', '.join(kids)})")
        return {"current": current, **{k: keys[k].decode() for k in kids if k != drop}}
    new = f"k{int(kids[-1][1:]) + 1}"
    alphabet = string.ascii_letters + string.digits
    older = kids if keep is None else (kids[-keep:] if keep else [])
    out = {"current": new, **{k: keys[k].decode() for k in older}}
    out[new] = new_key or "".join(secrets.choice(alphabet) for _ in range(64))
    return out


def _rotate_signing_key(args: argparse.Namespace) -> int:
    from chalicelib.integrations import aws

    if args.secret:
        secret_id = args.secret
    elif args.stage or not os.environ.get("SETU_SIGNING_SECRET_ARN"):
        secret_id = f"setu-{os.environ.get('SETU_STAGE', '')}-signing"
    else:  # --local (from the stack's outputs), or the environment the functions have
        secret_id = os.environ["SETU_SIGNING_SECRET_ARN"]
    client = aws.client("secretsmanager")
    value = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
    try:
        new = rotated(value, keep=args.keep, drop=args.drop)
    except ValueError as error:
        print(f"setu: {error}", file=sys.stderr)
        return 2
    client.put_secret_value(SecretId=secret_id, SecretString=json.dumps(new))
    kept = sorted((k for k in new if k != "current"), key=lambda k: int(k[1:]))
    done = f"dropped {args.drop}" if args.drop else f"current key is now {new['current']}"
    print(f"{secret_id}: {done}; keys kept: {', '.join(kept)}")
    return 0


def _actor() -> str:
    """Who runs the command, for the audit log: the caller's AWS identity when it answers."""
    try:
        from chalicelib.integrations import aws

        return "cli:" + aws.client("sts").get_caller_identity()["Arn"]
    except Exception:  # noqa: BLE001 - no identity is no reason to refuse the bootstrap
        import getpass

        return "cli:" + getpass.getuser()


def _tickets(args: argparse.Namespace) -> int:
    from chalicelib import clock
    from chalicelib.services.tickets import queue

    found: list[dict[str, Any]] = []
    cursor = ""
    asked = {"status": args.status, "department": args.department, "assignee": args.assignee,
             "q": args.q, "sla": args.sla, "due_within": args.due_within,
             "due_before": args.due_before, "has_decision": args.has_decision}
    while len(found) < args.limit:
        wanted = queue.parse_filter({**asked, "cursor": cursor,
                                     "limit": str(min(queue.PAGE_MAX, args.limit - len(found)))})
        page = queue.page(wanted)  # the same filters as GET /api/tickets (no caller: all)
        found += page["items"]
        cursor = page["next"] or ""
        if not cursor:
            break
    found = found[:args.limit]
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        print(table(found, clock.business_zone()))
    return 0


def _agents(args: argparse.Namespace) -> int:
    from chalicelib import config
    from chalicelib.integrations.aws import client
    from chalicelib.services.team import agents, console_access

    if args.action == "add":
        return _add_agent(args)
    if not args.agent:
        print("setu: agents invite needs an AGENT", file=sys.stderr)
        return 2
    pool = args.user_pool or config.settings().user_pool_id
    if not pool:  # the stage's pool, by the template's name for it
        wanted = f"setu-{config.settings().stage}-console"
        pages = client("cognito-idp").get_paginator("list_user_pools").paginate(MaxResults=60)
        pool = next((p["Id"] for page in pages for p in page["UserPools"]
                     if p["Name"] == wanted), "")
        if not pool:
            print(f"setu: no user pool {wanted}; give --user-pool", file=sys.stderr)
            return 2
    os.environ["SETU_USER_POOL_ID"] = pool
    config.reload()
    principal = agents.find_reference(args.agent, field="agent")
    result = console_access.invite(_cli_agent(), agents.agent_id(principal))
    print(f"{result['invitation']}: {result['agent']['console_user']} "
          f"({result['agent']['display_name'] or result['agent']['short_name']})")
    return 0


def _add_agent(args: argparse.Namespace) -> int:
    """`setu agents add`: the same checks as POST /api/agents (422, 409: exit 2)."""
    from chalicelib.services.team import agents

    if not args.role:
        print("setu: agents add needs --role agent|lead|admin", file=sys.stderr)
        return 2
    body: dict[str, Any] = {"role": args.role}
    for field, value in (("principal", args.principal), ("email", args.email),
                         ("display_name", args.name), ("lang", args.lang)):
        if value:
            body[field] = value
    if args.departments:
        body["departments"] = [d.strip() for d in args.departments.split(",") if d.strip()]
    created = agents.create(_cli_agent(), body)
    print(f"created {created['id']}: {created['short_name']} ({created['principal']}, "
          f"{created['role']})")
    if created["email"]:
        print(f"to the console: setu agents invite {created['id']}")
    return 0


def _cli_agent():
    """The command's caller as the services' agent: admin scope, audited as cli:<identity>."""
    from chalicelib.services.team.agents import AgentView

    actor = _actor()
    return AgentView(principal=actor, role="admin", display_name=actor, departments=frozenset())


def _assign(args: argparse.Namespace) -> int:
    from chalicelib import clock
    from chalicelib.errors import ValidationFailed
    from chalicelib.services.team import agents
    from chalicelib.services.tickets import work

    if args.agent.strip().casefold() == "me":
        raise ValidationFailed("The command is not an agent: name one.",
                               {"assignee": agents.REFERENCE_HELP})
    assignee = None if args.agent.strip().casefold() == "none" else args.agent
    ticket = work.update(args.ticket, _cli_agent(), {"assignee": assignee})
    who = agents.short_name(ticket["assignee"]) if ticket["assignee"] else "nobody"
    print(f"#{ticket['ref']} assigned to {who} ({ticket['status']}, due "
          f"{_when(_due(ticket), clock.business_zone())})")
    return 0


def _callback(args: argparse.Namespace) -> int:
    from chalicelib import clock
    from chalicelib.services.tickets import work

    result = work.schedule_callback(args.ticket, _cli_agent(), {"at": args.at, "note": args.note})
    print(f"#{result['ticket']['ref']}: callback at "
          f"{_when(result['callback_at'], clock.business_zone())}")
    return 0


def _when(instant: str | None, zone: Any = None) -> str:
    from chalicelib import clock

    return clock.for_people(instant, zone) or "-"


def _departments(args: argparse.Namespace) -> int:
    from chalicelib.errors import ValidationFailed
    from chalicelib.services.sla import store as policies
    from chalicelib.services.team import department_admin

    if args.action != "list" and not args.name:
        raise ValidationFailed("Name the department.", {"name": f"required for {args.action}"})
    if args.action == "list":
        found = department_admin.listing()
    elif args.action == "show":
        found = [department_admin.show(args.name)]
    elif args.action == "delete":
        found = [department_admin.delete(args.name, _actor())]
    else:
        found = [department_admin.put(
            args.name, department_body(args), _actor(),
            calendar_exists=lambda value: policies.find_calendar(value) is not None,
            policy_exists=lambda value: value in policies.policy_names())]
    if args.json:
        print(json.dumps(found if args.action == "list" else found[0], ensure_ascii=False, indent=2))
        return 0
    rows = [(d["name"], d["labels"].get("en", ""), d["labels"].get("bn", ""),
             d.get("effective_address", ""), "yes" if d.get("form") else "no",
             d.get("default_policy") or "-",
             "deleted" if d.get("deleted") else ("active" if d.get("active") else "inactive"))
            for d in found]
    head = ("NAME", "EN", "BN", "ADDRESS", "FORM", "POLICY", "STATE")
    widths = [max(len(str(row[i])) for row in (head, *rows)) for i in range(len(head))]
    for row in (head, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def department_body(args: argparse.Namespace) -> dict[str, Any]:
    """The PUT body from `setu departments put` options (--body first, options over it)."""
    from chalicelib.errors import ValidationFailed

    try:
        body = json.loads(args.body) if args.body else {}
    except ValueError:
        raise ValidationFailed("--body is not JSON.", {"body": "a JSON object"}) from None
    if not isinstance(body, dict):
        raise ValidationFailed("--body is not a JSON object.", {"body": "a JSON object"})
    if args.label_bn is not None or args.label_en is not None:
        from chalicelib.services.team import departments

        current = departments.labels(args.name) if departments.get(args.name) else {}
        labels = {**current, **(body.get("labels") or {})}
        if args.label_bn is not None:
            labels["bn"] = args.label_bn
        if args.label_en is not None:
            labels["en"] = args.label_en
        body["labels"] = labels
    for field, value in (("address", args.address), ("calendar", args.calendar),
                         ("default_policy", args.default_policy)):
        if value is not None:
            body[field] = value or None
    for field, value in (("form", args.form), ("active", args.active)):
        if value is not None:
            body[field] = value == "yes"
    if args.order is not None:
        body["order"] = args.order
    return body


def _report(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from chalicelib.services.reports import counters as reports
    from chalicelib.services.reports import report_csv

    end = args.end or reports.today()
    start = args.start or end - timedelta(days=29)
    built = reports.build(start, end, args.department or None, args.by)
    text = report_csv.to_csv(built) if args.format == "csv" else json.dumps(
        built, ensure_ascii=False, indent=2)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output} ({start}..{end}, by {args.by})")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _briefing(args: argparse.Namespace) -> int:
    from chalicelib import clock
    from chalicelib.errors import BadRequest
    from chalicelib.services.reports import briefing_send
    from chalicelib.services.team import agents, departments

    if args.department and not departments.is_department(args.department):
        raise BadRequest("Unknown department.", {"department": ", ".join(departments.names())})
    if args.send and args.date:
        raise BadRequest("Only today's briefing can be sent.", {"date": "leave it out"})
    agent = None
    if args.agent:
        agent = agents.find(args.agent) if agents.is_agent_id(args.agent) else \
            agents.find(agents.agent_id(args.agent))
    now = clock.now()
    chosen = [args.department] if args.department else departments.names()
    if agent is not None and not args.department:
        chosen = sorted(agent.departments or ()) or chosen
    previews, sent = [], []
    for department in chosen:
        if args.preview:
            day = args.date or briefing_send.local_day(department, now)
            previews.append(briefing_send.preview(department, day, agent=agent,
                                                  lang=args.lang or "", now=now))
        else:
            sent.append(briefing_send.resend(department, actor=_actor(), to=agent, now=now))
    if args.json:
        print(json.dumps(previews or sent, ensure_ascii=False, indent=2))
        return 0
    for preview in previews:
        got = ", ".join(f"{d['agent']['name']} ({d['state']})" for d in preview["deliveries"])
        print(f"== {preview['department']} {preview['date']} ({preview['kind']} digest"
              f"{'' if preview['scheduled'] else ', closed day: none scheduled'}); "
              f"sent today: {got or 'nobody yet'}")
        print(f"Subject: {preview['subject']}\n")
        print(preview["text"].rstrip() + "\n")
    for result in sent:
        names = ", ".join(s["name"] for s in result["sent"]) or "nobody"
        print(f"{result['department']} {result['date']}: sent to {names}")
        for skipped in result["skipped"]:
            print(f"  skipped {skipped['name']}: {skipped['reason']}")
    return 0


COLUMNS = ("REF", "STATUS", "PRIORITY", "DEPARTMENT", "ASSIGNEE", "CUSTOMER", "DUE", "SUBJECT")


def table(items: list[dict[str, Any]], zone: Any = None) -> str:
    """The tickets as a table; ASSIGNEE is the agent's short name (what --assignee takes),
    DUE the earliest SLA due time in the business time zone, with its offset."""
    from chalicelib import clock
    from chalicelib.services.team import agents

    rows = [COLUMNS] + [(
        str(t.get("ref") or ""), t.get("status") or "", t.get("priority") or "",
        t.get("department") or "",
        agents.short_name(t["assignee"]) if t.get("assignee") else "-",
        _cut(t.get("customer_name") or "-", 24),
        clock.for_people(_due(t), zone) or "-", _cut(t.get("subject") or "", 48)) for t in items]
    widths = [max(len(row[n]) for row in rows) for n in range(len(COLUMNS) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1]
             for row in rows]
    lines.append(f"({len(items)} ticket{'s' if len(items) != 1 else ''})")
    return "\n".join(line.rstrip() for line in lines)


def _due(ticket: dict[str, Any]) -> str | None:
    if "next_due" in ticket:
        return ticket["next_due"]
    sla = ticket.get("sla") or {}
    return (sla.get("first_response_due") if not ticket.get("first_response_at") else None) \
        or sla.get("next_reply_due") or sla.get("resolution_due")


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


if __name__ == "__main__":
    sys.exit(main())
