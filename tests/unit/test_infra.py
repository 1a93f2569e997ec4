"""Packaging and infra rendering: the template renderings, the Lambda wiring overlay, the
Chalice config and the least-privilege IAM policies generated from infra/permissions.yaml.

All offline: no AWS account, no network. One test runs `chalice package` + cfn-lint on a stub
app with Setu's function names (a few seconds); `make package` does the same for the real app.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from infra import render

ROOT = Path(__file__).resolve().parents[2]
CHALICE_DIR = ROOT / ".chalice"
DEPLOYED_STAGES = ("dev", "prod")
CONFIG = json.loads((CHALICE_DIR / "config.json").read_text())
TABLES = ("tickets", "timeline", "customers", "keys", "settings", "idempotency")


def _app_functions() -> dict[str, str]:
    """Chalice function name -> kind, read from the real app (importing it does no work)."""
    import app

    functions = {"api_handler": "api"} if app.app.routes else {}
    functions.update({source.name: type(source).__name__ for source in app.app.event_sources})
    functions.update({fn.name: "lambda" for fn in app.app.pure_lambda_functions})
    return functions


def _logical_id(function_name: str) -> str:
    from chalice.utils import to_cfn_resource_name

    return "APIHandler" if function_name == "api_handler" else to_cfn_resource_name(function_name)


def _stage_setting(stage: str, function: str, key: str):
    """A Chalice config value as Chalice resolves it: function, then stage, then top level."""
    stage_cfg = CONFIG["stages"][stage]
    for scope in (stage_cfg.get("lambda_functions", {}).get(function, {}), stage_cfg, CONFIG):
        if key in scope:
            return scope[key]
    return None


# --- the YAML loader --------------------------------------------------------------------------

def test_short_tags_become_long_form():
    loaded = render.yaml.load(textwrap.dedent("""
        a: !Ref Stage
        b: !GetAtt TimerQueue.Arn
        c: !GetAtt [TicketsTable, StreamArn]
        d: !Sub setu-${Stage}-tickets
        e: !Sub ["${A}-x", {A: !Ref Stage}]
        f: !Join [",", [!Ref A, b]]
        g: !If [IsProd, 1, !Ref AWS::NoValue]
        h: !Select [0, !GetAZs ""]
        i: !Equals [!Ref Stage, prod]
        j: !Not [!Condition IsProd]
        k: !GetAtt Res.Nested.Attr
        l: !Base64 {"Fn::Sub": "x"}
        """), Loader=render.CfnLoader)
    assert loaded == {
        "a": {"Ref": "Stage"},
        "b": {"Fn::GetAtt": ["TimerQueue", "Arn"]},
        "c": {"Fn::GetAtt": ["TicketsTable", "StreamArn"]},
        "d": {"Fn::Sub": "setu-${Stage}-tickets"},
        "e": {"Fn::Sub": ["${A}-x", {"A": {"Ref": "Stage"}}]},
        "f": {"Fn::Join": [",", [{"Ref": "A"}, "b"]]},
        "g": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]},
        "h": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        "i": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "j": {"Fn::Not": [{"Condition": "IsProd"}]},
        "k": {"Fn::GetAtt": ["Res", "Nested.Attr"]},
        "l": {"Fn::Base64": {"Fn::Sub": "x"}},
    }


def test_load_template_reads_the_infra_template():
    template = render.load_template()
    tickets = template["Resources"]["TicketsTable"]["Properties"]
    assert tickets["TableName"] == {"Fn::Sub": "setu-${Stage}-tickets"}
    assert template["Outputs"]["TimerQueueArn"]["Value"] == {"Fn::GetAtt": ["TimerQueue", "Arn"]}


# --- renderings -------------------------------------------------------------------------------

def _state_machines(template: dict) -> dict[str, dict]:
    return {k: r["Properties"] for k, r in template["Resources"].items()
            if r["Type"] == "AWS::StepFunctions::StateMachine"}


def test_emulator_rendering_inlines_every_local_definition():
    original = render.load_template()
    rendered = render.render_for_emulator()
    machines = _state_machines(rendered)
    assert machines, "the template has state machines"
    for logical_id, props in machines.items():
        assert "DefinitionS3Location" not in props, logical_id
        assert "DefinitionSubstitutions" not in props, logical_id
        source = _state_machines(original)[logical_id]
        text, substitutions = props["DefinitionString"]["Fn::Sub"]
        assert text == (ROOT / "infra" / source["DefinitionS3Location"]).read_text()
        assert substitutions == source["DefinitionSubstitutions"]
        json.loads(text)
        # Every ${Name} in the ASL is a substitution (a typo would reach CloudFormation as an
        # unresolved reference to a resource that does not exist).
        assert set(re.findall(r"\$\{([^}!]+)\}", text)) <= set(substitutions)
    # the loaded template itself is left alone
    assert "DefinitionS3Location" in _state_machines(original)["TimerStateMachine"]


@pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")  # alarms, policies: not emulated
def test_emulator_rendering_deploys_into_moto(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        cfn.create_stack(StackName="setu-unit", TemplateBody=json.dumps(render.render_for_emulator()),
                         Parameters=[{"ParameterKey": "Stage", "ParameterValue": "unit"}])
        stack = cfn.describe_stacks(StackName="setu-unit")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        definition = json.loads(sfn.describe_state_machine(
            stateMachineArn=outputs["TimerStateMachineArn"])["definition"])
        assert definition["States"]["Fire"]["Parameters"]["QueueUrl"] == outputs["TimerQueueUrl"]


# --- SES receiving -----------------------------------------------------------------------------

SES_RECEIVING = ("InboundRuleSet", "InboundRule")
EMULATOR_DROPS = (*SES_RECEIVING, "SmsConfigurationSet", "SigningSecret", "ConsoleUserPool",
                  "ConsoleUserPoolClient")


def _rule_arn_sub(template: dict) -> str:
    """The receipt rule's ARN as a !Sub string, built from the names the template gives."""
    resources = template["Resources"]
    rule_set = resources["InboundRuleSet"]["Properties"]["RuleSetName"]["Fn::Sub"]
    rule = resources["InboundRule"]["Properties"]["Rule"]["Name"]["Fn::Sub"]
    return ("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"
            f"receipt-rule-set/{rule_set}:receipt-rule/{rule}")


def test_receipt_rule_stores_raw_mail_and_notifies_the_inbound_topic():
    from local import smtp

    resources = render.load_template()["Resources"]
    assert resources["InboundRuleSet"]["Type"] == "AWS::SES::ReceiptRuleSet"
    rule = resources["InboundRule"]
    assert rule["Type"] == "AWS::SES::ReceiptRule"
    assert rule["Properties"]["RuleSetName"] == {"Ref": "InboundRuleSet"}
    # SES checks its access to the bucket and topic when the rule is created
    assert set(rule["DependsOn"]) >= {"MailBucketPolicy", "SesPublishPolicy"}
    props = rule["Properties"]["Rule"]
    assert props["Enabled"] is True and props["ScanEnabled"] is True
    assert props["TlsPolicy"] == "Require"
    assert props["Recipients"] == [{"Ref": "SupportDomain"}]  # every address on the domain
    (action,) = props["Actions"]
    assert action == {"S3Action": {"BucketName": {"Ref": "MailBucket"},
                                   "ObjectKeyPrefix": "inbound/",
                                   "TopicArn": {"Ref": "InboundEmailTopic"}}}
    # the local SMTP ingress writes where the rule writes; raw mail expires under that prefix
    assert smtp.KEY_PREFIX == action["S3Action"]["ObjectKeyPrefix"]
    lifecycle = resources["MailBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert any(r.get("Prefix") == "inbound/" and "ExpirationInDays" in r for r in lifecycle)


def test_ses_may_write_only_inbound_mail_and_publish_only_for_this_rule():
    template = render.load_template()
    resources = template["Resources"]
    rule_arn = _rule_arn_sub(template)

    statements = resources["MailBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    ses = [s for s in statements if s.get("Principal") == {"Service": "ses.amazonaws.com"}]
    assert len(ses) == 1
    (write,) = ses
    assert write["Effect"] == "Allow" and write["Action"] == "s3:PutObject"
    assert write["Resource"]["Fn::Sub"].endswith("setu-${Stage}-mail-${AWS::AccountId}/inbound/*")
    condition = write["Condition"]["StringEquals"]
    assert condition["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert condition["aws:SourceArn"] == {"Fn::Sub": rule_arn}
    bucket_name = resources["MailBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    assert write["Resource"]["Fn::Sub"] == f"arn:${{AWS::Partition}}:s3:::{bucket_name}/inbound/*"

    topic_policy = resources["SesPublishPolicy"]["Properties"]
    assert {"Ref": "InboundEmailTopic"} in topic_policy["Topics"]
    publish = [s for s in topic_policy["PolicyDocument"]["Statement"]
               if s["Resource"] == {"Ref": "InboundEmailTopic"}]
    assert len(publish) == 1
    assert publish[0]["Principal"] == {"Service": "ses.amazonaws.com"}
    assert publish[0]["Action"] == "sns:Publish" and publish[0]["Effect"] == "Allow"
    assert publish[0]["Condition"]["StringEquals"] == {
        "aws:SourceAccount": {"Ref": "AWS::AccountId"}, "aws:SourceArn": {"Fn::Sub": rule_arn}}


def test_support_domain_parameter_and_rule_set_output():
    template = render.load_template()
    parameter = template["Parameters"]["SupportDomain"]
    pattern = re.compile(parameter["AllowedPattern"])
    for good in ("example.com", "setu.local", "mail.example.com.bd"):
        assert pattern.fullmatch(good), good
    for bad in ("example", "support@example.com", "-x.com", "Example.com"):
        assert not pattern.fullmatch(bad), bad
    assert template["Outputs"]["InboundRuleSetName"] == {"Value": {"Ref": "InboundRuleSet"}}


def test_emulator_rendering_drops_ses_receiving_and_sms_v2_and_what_names_them():
    original = render.load_template()
    rendered = render.render_for_emulator()
    for logical_id in EMULATOR_DROPS:
        assert logical_id in original["Resources"]
        assert logical_id not in rendered["Resources"]
    assert not render.references(rendered, set(EMULATOR_DROPS))
    assert not any(r["Type"] in render.EMULATOR_UNSUPPORTED for r in rendered["Resources"].values())
    # everything else is still there (the topic the configuration set reports to included)
    assert set(original["Resources"]) - set(rendered["Resources"]) == set(EMULATOR_DROPS)
    assert "SmsEventsTopic" in rendered["Resources"]
    assert set(original["Outputs"]) - set(rendered["Outputs"]) == {
        "InboundRuleSetName", "SmsConfigurationSetName", "SigningSecretArn", "UserPoolId",
        "UserPoolArn", "UserPoolClientId"}


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_merge_template_keeps_ses_receiving_for_the_stages_domain(stage):
    merged = render.render_merge_template(stage)
    for logical_id in SES_RECEIVING:
        assert logical_id in merged["Resources"]
    address = CONFIG["stages"][stage]["environment_variables"]["SETU_SUPPORT_ADDRESS"]
    assert merged["Parameters"]["SupportDomain"]["Default"] == address.rpartition("@")[2]
    assert merged["Outputs"]["InboundRuleSetName"] == {"Value": {"Ref": "InboundRuleSet"}}


def test_drop_unsupported_removes_outputs_and_depends_on_and_refuses_dangling_references():
    template = {
        "Resources": {
            "Keep": {"Type": "AWS::SNS::Topic", "DependsOn": ["Gone", "Other"]},
            "Other": {"Type": "AWS::SQS::Queue", "DependsOn": "Gone"},
            "Gone": {"Type": "AWS::SES::ReceiptRuleSet"},
        },
        "Outputs": {
            "A": {"Value": {"Ref": "Gone"}},
            "B": {"Value": {"Fn::Sub": "x-${Gone}"}},
            "C": {"Value": {"Ref": "Keep"}},
        },
    }
    rendered = render.drop_unsupported(template)
    assert rendered["Resources"] == {"Keep": {"Type": "AWS::SNS::Topic", "DependsOn": ["Other"]},
                                     "Other": {"Type": "AWS::SQS::Queue"}}
    assert rendered["Outputs"] == {"C": {"Value": {"Ref": "Keep"}}}
    assert "Gone" in template["Resources"], "the template given is left alone"

    template["Resources"]["Keep"]["Properties"] = {"X": {"Fn::GetAtt": ["Gone", "Arn"]}}
    with pytest.raises(ValueError, match="Keep refers to"):
        render.drop_unsupported(template)


def test_references_finds_ref_getatt_and_sub():
    ids = {"A", "B", "C", "D"}
    value = [{"Ref": "A"}, {"Fn::GetAtt": "B.Arn"}, {"Fn::Sub": ["${C.Arn}-${AWS::Region}-${!D}",
                                                                 {"X": {"Ref": "D"}}]}]
    assert render.references(value, ids) == {"A", "B", "C", "D"}
    assert render.references({"Fn::Sub": "${!A}"}, ids) == set()


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_merge_template_sets_stage_and_wires_every_function(stage):
    merged = render.render_merge_template(stage)
    resources = merged["Resources"]
    assert merged["Parameters"]["Stage"]["Default"] == stage
    assert "DefinitionS3Location" not in json.dumps(merged)

    variables = merged["Globals"]["Function"]["Environment"]["Variables"]
    for table in TABLES:
        ref = variables[f"SETU_{table.upper()}_TABLE"]["Ref"]
        assert resources[ref]["Properties"]["TableName"] == {"Fn::Sub": f"setu-${{Stage}}-{table}"}
    assert variables["SETU_MAIL_BUCKET"] == {"Ref": "MailBucket"}
    assert variables["SETU_TIMER_STATE_MACHINE_ARN"] == {"Ref": "TimerStateMachine"}
    assert variables["POWERTOOLS_SERVICE_NAME"] == "setu"

    for name, kind in _app_functions().items():
        props = resources[_logical_id(name)]["Properties"]
        # fixed names so the policies' log-group ARNs (setu-<stage>-*) match
        assert props["FunctionName"] == {"Fn::Sub": f"setu-${{Stage}}-{name}"}
        events = props.get("Events", {})
        if kind == "api":
            continue
        if kind == "ScheduledEventConfig":  # Chalice writes the Schedule event from app.py
            assert not events, f"{name}: its schedule belongs in app.py"
            continue
        assert len(events) == 1, f"{name} has its event source wired"
        (event,) = events.values()
        wired = event["Properties"]
        if kind == "SQSEventConfig":
            # a mapping merged into Chalice's {"Fn::Sub": ...} must itself be an Fn::Sub
            assert wired["Queue"] == {"Fn::Sub": "${TimerQueue.Arn}"}
            assert wired["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        elif kind == "DynamoDBEventConfig":
            assert wired["Stream"]["Fn::GetAtt"][1] == "StreamArn"
            assert wired["StartingPosition"] == "TRIM_HORIZON"
            assert wired["BisectBatchOnFunctionError"] is True
            assert wired["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
            # records given up on after the retries are recorded, not only logged
            destination = wired["DestinationConfig"]["OnFailure"]["Destination"]
            assert destination == {"Fn::GetAtt": ["StreamFailureQueue", "Arn"]}
            assert _allowed(stage, name, "sqs:SendMessage",
                            f"arn:aws:sqs:us-east-1:123456789012:setu-{stage}-stream-failures")
        elif kind == "SNSEventConfig":
            (topic,) = re.findall(r"^\$\{(\w+)\}$", wired["Topic"]["Fn::Sub"])
            assert resources[topic]["Type"] == "AWS::SNS::Topic"
        else:
            pytest.fail(f"{name}: no wiring rule for {kind}")


def test_overlay_names_only_functions_the_app_has():
    """A resource in lambda.yaml without a Chalice resource would be a typeless resource:
    only the functions and the REST API Chalice writes may be named."""
    overlay = render.load_overlay()
    expected = {_logical_id(name) for name in _app_functions()} | {"RestAPI"}
    assert set(overlay["Resources"]) <= expected


def test_every_function_has_a_log_group_with_the_retention_made_before_it():
    template, overlay = render.load_template(), render.load_overlay()
    for name in _app_functions():
        logical = _logical_id(name)
        group = overlay["Resources"][logical]["DependsOn"]
        properties = template["Resources"][group]["Properties"]
        assert properties["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert properties["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/setu-${{Stage}}-{name}"}


def test_the_api_stage_traces_logs_access_and_throttles():
    api = render.load_overlay()["Resources"]["RestAPI"]["Properties"]
    assert api["TracingEnabled"] is True
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    [setting] = api["MethodSettings"]
    assert setting["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "ApiThrottleBurstLimit"}


def test_state_is_kept_and_every_alarm_tells_someone():
    resources = render.load_template()["Resources"]
    for name in ("TicketsTable", "TimelineTable", "CustomersTable", "KeysTable", "SettingsTable"):
        table = resources[name]
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
        assert table["Properties"]["DeletionProtectionEnabled"] is True
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True}
    bucket = resources["MailBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": {"Ref": "RawMailRetentionDays"}}
    alarms = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) >= 10
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms)
    assert resources["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"


def test_deep_merge_replaces_intrinsics_instead_of_mixing_them():
    base = {"a": {"Fn::Sub": "x"}, "b": {"c": 1, "d": 2}}
    overlay = {"a": {"Fn::GetAtt": ["Q", "Arn"]}, "b": {"d": 3}}
    assert render.deep_merge(base, overlay) == {"a": {"Fn::GetAtt": ["Q", "Arn"]},
                                                "b": {"c": 1, "d": 3}}


def test_cli_writes_merge_template(tmp_path):
    out = tmp_path / "merge.yaml"
    subprocess.run([sys.executable, "-m", "infra.render", "merge", "--stage", "prod", "--out",
                    str(out)], cwd=ROOT, check=True, capture_output=True)
    text = out.read_text()
    assert "!Ref" not in text and "&id" not in text
    assert render.yaml.safe_load(text) == render.render_merge_template("prod")


def test_chalice_package_of_a_stub_app_passes_cfn_lint(tmp_path):
    """The overlay merged by Chalice itself, on an app with Setu's function names, lints clean."""
    bindir = Path(sys.executable).parent
    chalice, cfn_lint = bindir / "chalice", bindir / "cfn-lint"
    if not (chalice.exists() and cfn_lint.exists()):
        pytest.skip("chalice/cfn-lint not installed next to this Python")
    functions = _app_functions()
    lines = ["from chalice import Chalice, IAMAuthorizer", "app = Chalice(app_name='setu')"]
    if "api_handler" in functions:
        lines += ["@app.route('/api/x', authorizer=IAMAuthorizer())", "def x():", "    return {}"]
    decorators = {
        "SQSEventConfig": "@app.on_sqs_message(queue='setu-timers', batch_size=10)",
        "DynamoDBEventConfig": "@app.on_dynamodb_record(stream_arn="
                               "'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/p')",
        "SNSEventConfig": "@app.on_sns_message(topic='setu-placeholder')",
        "ScheduledEventConfig": "@app.schedule('rate(5 minutes)')",
    }
    for name, kind in functions.items():
        if kind in decorators:
            lines += [decorators[kind], f"def {name}(event):", "    return None"]
    (tmp_path / "app.py").write_text("\n".join(lines) + "\n")
    (tmp_path / "requirements.txt").write_text("")
    (tmp_path / ".chalice").mkdir()
    for path in CHALICE_DIR.glob("*.json"):
        (tmp_path / ".chalice" / path.name).write_text(path.read_text())
    merge = tmp_path / "merge.yaml"
    merge.write_text(render.dump_yaml(render.render_merge_template("dev")))
    env = {"AWS_DEFAULT_REGION": "us-east-1", "PATH": str(bindir) + ":/usr/bin:/bin",
           "HOME": str(tmp_path)}
    subprocess.run([str(chalice), "package", "--stage", "dev", "--template-format", "yaml",
                    "--merge-template", str(merge), "out"], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    lint = subprocess.run([str(cfn_lint), str(tmp_path / "out" / "sam.yaml")], env=env,
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    sam = render.yaml.safe_load((tmp_path / "out" / "sam.yaml").read_text())
    from infra import package

    package.check_policies(tmp_path / "out" / "sam.yaml", "dev")  # generated, not the placeholder
    for name in functions:
        props = sam["Resources"][_logical_id(name)]["Properties"]
        assert props["Environment"]["Variables"]["SETU_STAGE"] == "dev"
        assert props["MemorySize"] == 256


# --- Chalice config ---------------------------------------------------------------------------

def test_chalice_config_stages():
    assert CONFIG["app_name"] == "setu"
    assert set(CONFIG["stages"]) >= {"local", *DEPLOYED_STAGES}
    for stage, settings in CONFIG["stages"].items():
        assert settings["environment_variables"]["SETU_STAGE"] == stage
    for stage in DEPLOYED_STAGES:
        variables = CONFIG["stages"][stage]["environment_variables"]
        assert {"SETU_SUPPORT_ADDRESS", "SETU_SMS_NUMBER", "SETU_PUBLIC_URL"} <= set(variables)
        assert _stage_setting(stage, "api_handler", "api_gateway_stage") == "api"
        assert _stage_setting(stage, "api_handler", "autogen_policy") is False
        # active tracing of every function and the API stage (Lambda's own segments: no X-Ray
        # SDK in the package, nothing at import)
        for name in _app_functions():
            assert _stage_setting(stage, name, "xray") is True
        assert _stage_setting(stage, "api_handler", "lambda_timeout") == 30
        for name in _app_functions():
            assert _stage_setting(stage, name, "lambda_memory_size") == 256
            if name != "api_handler":
                assert _stage_setting(stage, name, "lambda_timeout") == 60


def test_timer_queue_visibility_covers_the_handler_timeout():
    queue = render.load_template()["Resources"]["TimerQueue"]["Properties"]
    for stage in DEPLOYED_STAGES:
        assert queue["VisibilityTimeout"] >= 6 * _stage_setting(stage, "timer_fired", "lambda_timeout")


# --- IAM policies (generated from infra/permissions.yaml) --------------------------------------

ACCOUNT = "123456789012"
# name properties of the template's resources -> what ${...} gives for them
_NAME_PROPERTIES = {"AWS::DynamoDB::Table": ("TableName", ""), "AWS::S3::Bucket": ("BucketName", ""),
                    "AWS::SQS::Queue": ("QueueName", ".QueueName"),
                    "AWS::SNS::Topic": ("TopicName", ".TopicName"),
                    "AWS::StepFunctions::StateMachine": ("StateMachineName", ".Name"),
                    "AWS::SMSVOICE::ConfigurationSet": ("ConfigurationSetName", "")}


def _names(stage: str) -> dict[str, str]:
    """What a stack of `stage` in us-east-1, account 123456789012, gives ${...}."""
    from infra import permissions

    base = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": ACCOUNT,
            "Stage": stage, "SupportDomain": "example.com"}
    names = dict(base)
    for logical, resource in render.load_template()["Resources"].items():
        if resource["Type"] in _NAME_PROPERTIES:
            prop, suffix = _NAME_PROPERTIES[resource["Type"]]
            names[logical + suffix] = permissions.resolve(resource["Properties"][prop], base)
        elif resource["Type"] == "AWS::SecretsManager::Secret":  # its Ref: the ARN, suffixed
            name = permissions.resolve(resource["Properties"]["Name"], base)
            names[logical] = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{name}-AbCdEf"
        elif resource["Type"] == "AWS::Cognito::UserPool":  # its Ref: the pool id
            names[logical] = f"us-east-1_{stage}Pool"
    return names


def _policy(stage: str, function: str) -> dict:
    """The function's generated policy as a stack of `stage` in account 123456789012 has it."""
    from infra import permissions

    return permissions.resolve(permissions.policy_document(function, stage), _names(stage))


def _statements(policy: dict) -> list[dict]:
    statements = policy["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_every_app_function_has_a_declaration_and_no_other():
    from infra import permissions

    assert set(permissions.functions()) == set(_app_functions())
    permissions.check()


def test_no_hand_kept_policies_remain():
    """One declaration: no per-stage policy files; Chalice's own is a deny-all placeholder the
    generated policies replace at package time (infra/package.py checks that they did)."""
    assert sorted(p.name for p in CHALICE_DIR.glob("policy*.json")) == ["policy-placeholder.json"]
    assert CONFIG["iam_policy_file"] == "policy-placeholder.json"
    for stage in DEPLOYED_STAGES:
        for name in _app_functions():
            assert _stage_setting(stage, name, "iam_policy_file") == "policy-placeholder.json"
    placeholder = json.loads((CHALICE_DIR / "policy-placeholder.json").read_text())
    assert [s["Effect"] for s in placeholder["Statement"]] == ["Deny"]


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_merge_template_gives_every_role_its_generated_policy(stage):
    from infra import permissions

    resources = render.render_merge_template(stage)["Resources"]
    for name in _app_functions():
        role = resources[permissions.role_logical_id(name)]
        assert role["Properties"]["Policies"] == [{
            "PolicyName": f"{permissions.role_logical_id(name)}Policy",
            "PolicyDocument": permissions.policy_document(name, stage)}]


def test_dev_and_prod_policies_are_the_same_document():
    """Per stage only the stack differs: the generated documents name ${Stage} and the stack's
    resources, never a stage."""
    from infra import permissions

    for name in _app_functions():
        assert permissions.policy_document(name, "dev") == permissions.policy_document(name, "prod")


# Resource "*" only where IAM has no resource-level permission for the action: X-Ray's trace
# upload (active tracing). Each such grant says why in infra/permissions.yaml.
STAR_ALLOWED = {("xray:PutTelemetryRecords", "xray:PutTraceSegments")}


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_generated_policies_are_pinned_and_least_privilege(stage):
    from infra import permissions

    declared = permissions.declaration()
    for name in _app_functions():
        sids = [g["sid"] for g in permissions.grants(name, stage)]
        assert len(sids) == len(set(sids)), f"{name}: duplicate Sids {sids}"
        for statement in permissions.policy_document(name, stage)["Statement"]:
            where = f"{name}/{statement['Sid']}"
            assert statement["Effect"] == "Allow", where
            assert "NotAction" not in statement and "NotResource" not in statement, where
            actions = _as_list(statement["Action"])
            for action in actions:
                service, _, verb = action.partition(":")
                assert action != "*" and verb and "*" not in verb, f"{where}: {action}"
            for resource in _as_list(statement["Resource"]):
                if resource == "*":
                    assert tuple(sorted(actions)) in STAR_ALLOWED, f"{where}: Resource * for {actions}"
                    grant = next(g for g in [*declared["common"], *declared["functions"][name]]
                                 if g["sid"] == statement["Sid"])
                    assert grant.get("why"), f"{where}: Resource * without a reason"
                    continue
                text = resource["Fn::Sub"]
                assert text.startswith("arn:${AWS::Partition}:"), f"{where}: {text}"
                if not text.startswith("arn:${AWS::Partition}:s3:::"):  # S3 ARNs have neither
                    assert ":${AWS::Region}:${AWS::AccountId}:" in text, f"{where}: {text}"
                if ":ses:" in text:
                    assert text.endswith(":identity/${SupportDomain}"), f"{where}: {text}"
                # every ${Name} is a pseudo parameter, a parameter or a resource of the template
                template = render.load_template()
                for ref in re.findall(r"\$\{([^}]+)\}", text):
                    ref = ref.split(".")[0]
                    assert ref.startswith("AWS::") or ref in template["Parameters"] \
                        or ref in template["Resources"], f"{where}: {ref}"


def _allowed(stage: str, function: str, action: str, resource: str) -> bool:
    from local import iam

    return iam.evaluate(_policy(stage, function), iam.Need(action, resource)) == "allow"


TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/setu-dev-{}"
MAIL = "arn:aws:s3:::setu-dev-mail-123456789012"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:setu-dev-signing-AbCdEf"
POOL = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_{}Pool"
NEEDS = {
    "api_handler": [
        *[("dynamodb:" + a, TABLE.format(t)) for a in ("GetItem", "PutItem", "UpdateItem",
                                                       "DeleteItem", "Query", "BatchGetItem",
                                                       "ConditionCheckItem")
          for t in ("tickets", "timeline", "customers", "keys", "settings")],
        ("dynamodb:Query", TABLE.format("tickets") + "/index/status-index"),
        ("dynamodb:BatchWriteItem", TABLE.format("timeline")),
        ("dynamodb:PutItem", TABLE.format("idempotency")),
        ("dynamodb:UpdateItem", TABLE.format("idempotency")),
        ("s3:PutObject", MAIL + "/attachments/T-1/a.pdf"),
        ("s3:GetObject", MAIL + "/attachments/T-1/a.pdf"),
        ("s3:DeleteObject", MAIL + "/attachments/T-1/a.pdf"),
        ("cognito-idp:AdminCreateUser", POOL.format("dev")),
        ("cognito-idp:AdminGetUser", POOL.format("dev")),
        ("cognito-idp:AdminDisableUser", POOL.format("dev")),
        ("cognito-idp:AdminEnableUser", POOL.format("dev")),
    ],
    "timer_fired": [
        ("sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:123456789012:setu-dev-timers"),
        ("sqs:DeleteMessage", "arn:aws:sqs:us-east-1:123456789012:setu-dev-timers"),
        ("sqs:GetQueueAttributes", "arn:aws:sqs:us-east-1:123456789012:setu-dev-timers"),
        ("dynamodb:UpdateItem", TABLE.format("tickets")),
        ("dynamodb:PutItem", TABLE.format("timeline")),
        ("dynamodb:GetItem", TABLE.format("customers")),
        ("states:StartExecution", "arn:aws:states:us-east-1:123456789012:stateMachine:setu-dev-timer"),
    ],
    "ticket_changed": [
        ("dynamodb:GetRecords", TABLE.format("tickets") + "/stream/2026-01-01T00:00:00.000"),
        ("dynamodb:GetShardIterator", TABLE.format("tickets") + "/stream/2026-01-01T00:00:00.000"),
        ("dynamodb:DescribeStream", TABLE.format("tickets") + "/stream/2026-01-01T00:00:00.000"),
        ("dynamodb:GetItem", TABLE.format("settings")),
        ("states:StartExecution", "arn:aws:states:us-east-1:123456789012:stateMachine:setu-dev-timer"),
        ("states:StopExecution",
         "arn:aws:states:us-east-1:123456789012:execution:setu-dev-timer:T-1042-first-response-g3"),
    ],
    "timeline_appended": [
        ("dynamodb:GetRecords", TABLE.format("timeline") + "/stream/2026-01-01T00:00:00.000"),
        ("dynamodb:UpdateItem", TABLE.format("timeline")),
        ("secretsmanager:GetSecretValue", SECRET),
        ("s3:GetObject", MAIL + "/attachments/T-1/a.pdf"),
        ("ses:SendRawEmail", "arn:aws:ses:us-east-1:123456789012:identity/example.com"),
        ("sms-voice:SendTextMessage", "arn:aws:sms-voice:us-east-1:123456789012:configuration-set/setu-dev-sms"),
        ("sms-voice:SendTextMessage", "arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-1a2b"),
    ],
    "report_timeline": [("dynamodb:BatchGetItem", TABLE.format("tickets"))],
    "inbound_email": [
        ("s3:GetObject", MAIL + "/inbound/abc"),
        ("s3:ListBucket", MAIL),  # a missing raw message is then 404, not 403
        ("s3:PutObject", MAIL + "/attachments/T-1/m/0"),
        ("dynamodb:PutItem", TABLE.format("tickets")),
        ("secretsmanager:GetSecretValue", SECRET),
    ],
    "inbound_sms": [("dynamodb:PutItem", TABLE.format("timeline")),
                    ("secretsmanager:GetSecretValue", SECRET),
                    ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:setu-dev-events-dlq"),
                    ("sms-voice:SendTextMessage",
                     "arn:aws:sms-voice:us-east-1:123456789012:configuration-set/setu-dev-sms")],
    "ses_events": [("dynamodb:UpdateItem", TABLE.format("timeline"))],
    "daily_briefing": [("dynamodb:Query", TABLE.format("tickets") + "/index/status-index"),
                       ("dynamodb:Query", TABLE.format("settings")),
                       ("dynamodb:GetItem", TABLE.format("settings")),
                       ("dynamodb:PutItem", TABLE.format("keys")),
                       ("dynamodb:DeleteItem", TABLE.format("keys")),
                       ("dynamodb:BatchGetItem", TABLE.format("keys")),
                       ("ses:SendRawEmail", "arn:aws:ses:us-east-1:123456789012:identity/example.com")],
    "sms_events": [("dynamodb:UpdateItem", TABLE.format("timeline")),
                   ("dynamodb:PutItem", TABLE.format("keys"))],
}
NOT_ALLOWED = [
    ("api_handler", "secretsmanager:PutSecretValue", SECRET),
    ("api_handler", "secretsmanager:GetSecretValue", SECRET.replace("setu-dev-", "setu-prod-")),
    ("timeline_appended", "secretsmanager:GetSecretValue", SECRET.replace("signing", "other")),
    ("ticket_changed", "secretsmanager:GetSecretValue", SECRET),
    ("api_handler", "states:StartExecution", "arn:aws:states:us-east-1:123456789012:stateMachine:setu-dev-timer"),
    ("api_handler", "s3:GetObject", MAIL + "/inbound/raw"),
    ("api_handler", "dynamodb:Scan", TABLE.format("tickets")),
    ("api_handler", "cognito-idp:AdminCreateUser", POOL.format("prod")),
    ("api_handler", "cognito-idp:AdminDeleteUser", POOL.format("dev")),
    ("timer_fired", "cognito-idp:AdminCreateUser", POOL.format("dev")),
    ("api_handler", "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/setu-prod-tickets"),
    ("api_handler", "dynamodb:GetItem", "arn:aws:dynamodb:eu-west-1:123456789012:table/setu-dev-tickets"),
    ("api_handler", "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:210987654321:table/setu-dev-tickets"),
    ("ticket_changed", "dynamodb:DeleteItem", TABLE.format("tickets")),
    ("ticket_changed", "dynamodb:PutItem", TABLE.format("customers")),
    ("inbound_sms", "sns:Publish", "*"),
    ("inbound_sms", "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:setu-dev-timers"),
    ("api_handler", "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:setu-dev-events-dlq"),
    ("api_handler", "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:setu-dev-stream-failures"),
    ("inbound_email", "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:setu-dev-stream-failures"),
    ("ticket_changed", "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:setu-prod-stream-failures"),
    ("timeline_appended", "sns:Publish", "*"),
    ("timeline_appended", "ses:SendRawEmail", "arn:aws:ses:us-east-1:123456789012:identity/other.example"),
    ("timeline_appended", "sms-voice:SendTextMessage",
     "arn:aws:sms-voice:us-east-1:123456789012:configuration-set/setu-prod-sms"),
    ("sms_events", "sms-voice:SendTextMessage",
     "arn:aws:sms-voice:us-east-1:123456789012:configuration-set/setu-dev-sms"),
    ("ses_events", "ses:SendRawEmail", "arn:aws:ses:us-east-1:123456789012:identity/example.com"),
    ("daily_briefing", "dynamodb:PutItem", TABLE.format("tickets")),
    ("daily_briefing", "dynamodb:Scan", TABLE.format("tickets")),
    ("inbound_email", "s3:GetObject", MAIL + "/attachments/x"),
    ("inbound_email", "s3:GetObject", "arn:aws:s3:::other-bucket/inbound/x"),
]


@pytest.mark.parametrize("function", sorted(NEEDS))
def test_each_function_may_do_what_it_needs(function):
    if function not in _app_functions():
        pytest.skip(f"{function} is not in app.py")
    missing = [(a, r) for a, r in NEEDS[function] if not _allowed("dev", function, a, r)]
    assert not missing, missing
    logs = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/setu-dev-{}:log-stream:x"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        assert _allowed("dev", function, action, logs.format(function))
        assert not _allowed("dev", function, action, logs.format("other"))


@pytest.mark.parametrize("function,action,resource", NOT_ALLOWED)
def test_and_no_more(function, action, resource):
    assert not _allowed("dev", function, action, resource)


def test_every_function_has_an_errors_alarm_and_the_dashboard_is_json():
    template = render.load_template()
    resources = template["Resources"]
    alarmed = {r["Properties"]["Dimensions"][0]["Value"]["Fn::Sub"]
               for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"
               and r["Properties"]["Namespace"] == "AWS/Lambda"}
    assert alarmed == {f"setu-${{Stage}}-{name}" for name in _app_functions()}
    # application alarms match the EMF lines' service-only dimension set
    for name in ("MessagesFailedAlarm", "EventsRejectedAlarm"):
        assert resources[name]["Properties"]["Dimensions"] == [{"Name": "service", "Value": "setu"}]
    body = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(body.replace("${AWS::Region}", "us-east-1").replace("${Stage}", "dev"))
    titles = [w["properties"]["title"] for w in dashboard["widgets"]]
    assert len(titles) == 5 and "SLA breaches by target" in titles


# --- infra/permissions.py itself ---------------------------------------------------------------

def test_declared_resource_forms():
    from infra import permissions

    assert permissions.arn("table:TicketsTable/index/status-index", "f") == {"Fn::Sub": (
        "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TicketsTable}"
        "/index/status-index")}
    assert permissions.arn("bucket:MailBucket", "f") == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${MailBucket}"}
    assert permissions.arn("executions:TimerStateMachine", "f") == {"Fn::Sub": (
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
        "${TimerStateMachine.Name}:*")}
    assert permissions.arn("log-group:own", "timer_fired")["Fn::Sub"].endswith(
        ":log-group:/aws/lambda/setu-${Stage}-timer_fired:*")
    for bad in ("dynamodb:table/x", "queue:TimerQueue/extra", "arn:aws:s3:::x"):
        with pytest.raises(permissions.DeclarationError):
            permissions.arn(bad, "f")


def test_a_declaration_is_refused_when_it_would_be_loose():
    from infra import permissions

    def declared(*grants):
        return {"common": [], "functions": {"f": list(grants)}}

    with pytest.raises(permissions.DeclarationError, match="needs a `why`"):
        permissions.check(declared({"sid": "A", "actions": ["s3:GetObject"], "resources": ["*"]}))
    with pytest.raises(permissions.DeclarationError, match="name each action"):
        permissions.check(declared({"sid": "A", "actions": ["s3:*"], "resources": ["bucket:B/x"]}))
    local_only = {"sid": "L", "stages": ["local"], "why": "emulator", "actions": ["sns:Publish"],
                  "resources": ["*"]}
    assert permissions.policy_document("f", "dev", declared(local_only))["Statement"] == []
    assert len(permissions.policy_document("f", "local", declared(local_only))["Statement"]) == 1


def test_resolving_against_a_stack():
    from infra import permissions

    names = permissions.stack_names([
        {"LogicalResourceId": "TimerQueue", "ResourceType": "AWS::SQS::Queue",
         "PhysicalResourceId": "http://127.0.0.1:5000/123456789012/setu-x-timers"},
        {"LogicalResourceId": "TimerStateMachine", "ResourceType": "AWS::StepFunctions::StateMachine",
         "PhysicalResourceId": "arn:aws:states:us-east-1:123456789012:stateMachine:setu-x-timer"}],
        stage="x", region="us-east-1", account="123456789012")
    document = [permissions.arn("queue:TimerQueue", "f"), permissions.arn("executions:TimerStateMachine", "f"),
                permissions.arn("sms-configuration-set:SmsConfigurationSet", "f")]
    with pytest.raises(permissions.DeclarationError):
        permissions.resolve(document, names)
    assert permissions.resolve(document, names, absent_ok=True) == [
        "arn:aws:sqs:us-east-1:123456789012:setu-x-timers",
        "arn:aws:states:us-east-1:123456789012:execution:setu-x-timer:*",
        "arn:aws:sms-voice:us-east-1:123456789012:configuration-set/<absent:SmsConfigurationSet>"]


def test_no_function_may_write_the_signing_secret_and_signers_may_read_it():
    from infra import permissions
    from local import iam

    names = _names("dev")
    hash_keys = permissions.table_hash_keys(names)
    readers = {"api_handler", "timer_fired", "timeline_appended", "inbound_email", "inbound_sms",
               "ses_events", "sms_events"}
    for function in permissions.declaration()["functions"]:
        policy = permissions.resolve(permissions.policy_document(function, "dev"), names, absent_ok=True)
        (read,) = iam.required("secretsmanager", "GetSecretValue", {"SecretId": names["SigningSecret"]},
                               region="us-east-1", account=ACCOUNT)
        (write,) = iam.required("secretsmanager", "PutSecretValue", {"SecretId": names["SigningSecret"],
                                                                     "SecretString": "{}"},
                                region="us-east-1", account=ACCOUNT)
        assert (iam.evaluate(policy, read) == "allow") == (function in readers), function
        assert iam.evaluate(policy, write) == "implicit-deny", function
        if function in ("inbound_email", "inbound_sms"):
            (put,) = iam.required("dynamodb", "PutItem", {
                "TableName": "setu-dev-settings", "Item": {"kind": {"S": "secret"}, "name": {"S": "x"}}},
                region="us-east-1", account=ACCOUNT, hash_keys=hash_keys)
            assert iam.evaluate(policy, put) == "implicit-deny", function
