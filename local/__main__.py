"""`make dev`: the whole product on one machine, bound to 127.0.0.1.

1. the AWS emulator (moto server, child process, TZ=UTC) on SETU_AWS_PORT;
2. infra/template.yaml deployed into it through its CloudFormation as stack `setu-local`;
3. the Chalice app (stage `local`) served over HTTP on SETU_API_PORT, in this process;
4. the pump delivering SQS, SNS and DynamoDB-stream records to the app's event handlers, and
   running its scheduled handlers (the daily briefing) every SETU_SCHEDULE_SECONDS (60);
5. the SMTP ingress (local/smtp.py) on SETU_SMTP_PORT: mail to @setu.local is stored in the
   mail bucket and announced on the inbound-email topic, as SES receiving does;
6. `.setu/local.json` describing all of it, written once /health answers.

Every handler runs under its own function's IAM policy, generated from infra/permissions.yaml
as `make package` generates it: a call the policy does not allow fails as it would on AWS
(local/iam.py; SETU_IAM=audit only logs such calls, SETU_IAM=off stops checking).

Ctrl-C or SIGTERM stops the HTTP server, the SMTP ingress, the pump and the emulator. State
lives only in the emulator's memory: every start is a fresh stack.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from local import stack

log = logging.getLogger("setu.local")
HOST = "127.0.0.1"
STAGE = "local"


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        port = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise SystemExit(f"{name}={port} is out of range")
    if not stack.port_free(port, HOST):
        raise SystemExit(f"{name}: port {port} on {HOST} is in use (another `make dev`?); "
                         f"set {name} to a free port")
    return port


def _serve_app(port: int):
    """The Chalice app through chalice.local's threaded server, routed as the packaged API
    routes (local/gateway.py: 405 with Allow for any method a route lacks). Loading the stage
    config also applies the `local` stage's environment_variables, as `chalice local --stage
    local` would."""
    from chalice.cli.factory import CLIFactory

    from local import gateway

    config = CLIFactory(project_dir=str(stack.ROOT)).create_config_obj(chalice_stage_name=STAGE)
    server = gateway.create_server(config.chalice_app, config, HOST, port)
    thread = threading.Thread(target=server.server.serve_forever, name="http", daemon=True)
    thread.start()
    return server


def _schedule_seconds() -> float | None:
    """How often the pump runs the scheduled handlers (the daily briefing's tick): every
    SETU_SCHEDULE_SECONDS (default 60; 0 turns schedules off)."""
    raw = os.environ.get("SETU_SCHEDULE_SECONDS", "60")
    try:
        seconds = float(raw)
    except ValueError:
        raise SystemExit(f"SETU_SCHEDULE_SECONDS={raw!r} is not a number") from None
    return seconds if seconds > 0 else None


def _wait_healthy(api_url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200 and json.load(response).get("status") == "ok":
                    return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{api_url}/health did not answer within {timeout}s")


def describe(outputs: dict[str, str], api_url: str, endpoint: str, smtp_port: int) -> dict:
    """The contents of .setu/local.json (CONTRACT.md names the top-level keys)."""
    return {
        "api_url": api_url,
        "aws_endpoint_url": endpoint,
        "region": stack.REGION,
        "stage": STAGE,
        "support_address": stack.SUPPORT_ADDRESS,
        "sms_number": stack.SMS_NUMBER,
        "smtp_port": smtp_port,
        "admin_principal": stack.ADMIN_ARN,
        "inbound_sms_topic_arn": outputs["InboundSmsTopicArn"],
        "inbound_email_topic_arn": outputs["InboundEmailTopicArn"],
        "ses_events_topic_arn": outputs["SesEventsTopicArn"],
        "sms_events_topic_arn": outputs["SmsEventsTopicArn"],
        "tables": {key: outputs[key] for key in (
            "TicketsTable", "TimelineTable", "CustomersTable", "KeysTable", "SettingsTable",
            "IdempotencyTable")},
        "queues": {"timer": outputs["TimerQueueUrl"],
                   "timer_dead_letter": outputs["TimerDeadLetterQueueUrl"],
                   "event_dead_letter": outputs["EventDeadLetterQueueUrl"],
                   "stream_failures": outputs["StreamFailureQueueUrl"]},
        "topics": {"inbound_email": outputs["InboundEmailTopicArn"],
                   "inbound_sms": outputs["InboundSmsTopicArn"],
                   "ses_events": outputs["SesEventsTopicArn"],
                   "sms_events": outputs["SmsEventsTopicArn"]},
        "bucket": outputs["MailBucket"],
        "state_machines": {"timer": outputs["TimerStateMachineArn"]},
        "outputs": outputs,
        "pid": os.getpid(),
    }


def _banner(info: dict, state_dir: Path) -> str:
    return "\n".join([
        "",
        "  Setu local stack is ready",
        f"    HTTP API      {info['api_url']}   (form: {info['api_url']}/form?lang=bn)",
        f"    AWS emulator  {info['aws_endpoint_url']}   (region {info['region']})",
        f"    support mail  {info['support_address']} via smtp://{HOST}:{info['smtp_port']}"
        f"   SMS number {info['sms_number']}",
        f"    admin         X-Setu-Principal: {info['admin_principal']}",
        f"    console       {info['console_url']}   (docs/console.md)",
        f"    console user  {info['console_user']}   password {info['console_password']}",
        f"    details       {state_dir / 'local.json'}   emulator log {state_dir / 'moto.log'}",
        "  Ctrl-C stops everything.",
        "",
    ])


def main() -> int:
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("setu").setLevel(os.environ.get("SETU_LOG_LEVEL", "INFO").upper())
    api_port = _port("SETU_API_PORT", 8000)
    aws_port = _port("SETU_AWS_PORT", 5000)
    smtp_port = _port("SETU_SMTP_PORT", 2525)
    state_dir = Path(os.environ.get("SETU_STATE_DIR", stack.ROOT / ".setu"))
    state_dir.mkdir(parents=True, exist_ok=True)
    info_path = state_dir / "local.json"
    info_path.unlink(missing_ok=True)  # present only while a stack is ready

    stopping = threading.Event()

    def _stop(signum, _frame):
        log.info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    endpoint = f"http://{HOST}:{aws_port}"
    api_url = f"http://{HOST}:{api_port}"
    moto = stack.start_moto(aws_port, state_dir / "moto.log")
    server = pump_thread = smtp = None
    try:
        stack.wait_ready(endpoint)
        log.info("emulator up at %s; deploying infra/template.yaml as setu-%s", endpoint, STAGE)
        outputs = stack.deploy(endpoint, STAGE)
        os.environ.update(stack.environment(outputs, endpoint, api_url=api_url))

        import app
        from chalicelib import runtime
        from local import iam
        from local.pump import Pump
        from local.smtp import SmtpIngress

        # every handler runs under its function's policy from infra/permissions.yaml
        iam.install(app)
        iam.use_stack(endpoint, STAGE, support_domain=stack.SUPPORT_DOMAIN)
        log.info("IAM policies: %s (SETU_IAM)", iam.mode())
        runtime.reset()
        stack.seed_admin()
        console_user, console_password = stack.seed_console_agent(endpoint)
        server = _serve_app(api_port)
        pump = Pump(app, outputs, endpoint, STAGE, schedule_every=_schedule_seconds())
        pump_thread = threading.Thread(target=pump.run, args=(stopping,), name="pump", daemon=True)
        pump_thread.start()
        smtp = SmtpIngress(smtp_port, endpoint, outputs, host=HOST).start()
        _wait_healthy(api_url)

        info = describe(outputs, api_url, endpoint, smtp_port)
        # a local agent who signs in with Cognito (docs/console.md)
        info.update(console_url=f"{api_url}/console",
                    console_user=console_user, console_password=console_password,
                    user_pool_id=outputs["UserPoolId"],
                    user_pool_client_id=outputs["UserPoolClientId"])
        # each handler's AWS calls are checked against its function's policy (local/iam.py)
        info["iam"] = {"mode": iam.mode(), "denials_log": os.environ.get("SETU_IAM_LOG", "")}
        tmp = info_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(info_path)
        print(_banner(info, state_dir), flush=True)

        while not stopping.is_set():
            if moto.poll() is not None:
                log.error("the AWS emulator exited (code %s); see %s", moto.returncode,
                          state_dir / "moto.log")
                return 1
            stopping.wait(1.0)
        return 0
    except (TimeoutError, RuntimeError, OSError) as exc:
        log.error("%s", exc)
        return 1
    finally:
        stopping.set()
        info_path.unlink(missing_ok=True)
        if smtp is not None:
            smtp.stop()
        if server is not None:
            server.shutdown()
            server.server.server_close()
        if pump_thread is not None:
            pump_thread.join(5)
        stack.stop(moto)
        log.info("stopped")


if __name__ == "__main__":
    sys.exit(main())
