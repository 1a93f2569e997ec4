"""Deploy rehearsal: `make package`'s template, translated by the official SAM translator and
created in the emulator's CloudFormation (infra/rehearse.py), and proof that it can fail."""
from __future__ import annotations

import copy
import re

import pytest

from infra import rehearse, render
from tests.conftest import running_emulator
from tests.packaging.conftest import ROOT

INLINE_TEMPLATE_LIMIT = 51_200  # bytes: `aws cloudformation deploy` without --s3-bucket
CODE_URI = "s3://setu-artifacts/deployment.zip"  # translating needs one; nothing is read there


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """An emulator of its own: the rehearsal's functions, roles and stacks stay out of the
    worker's shared one, whose state other tests read whole (moto's data dump)."""
    yield from running_emulator(tmp_path_factory)


@pytest.fixture(scope="module")
def sam(built) -> dict:
    return render.load_yaml(built / "sam.yaml")


def test_packaged_template_creates_in_the_emulator(built, emulator):
    result = rehearse.rehearse(built / "sam.yaml", built / "deployment.zip", emulator)
    created = list(result.created.values())
    # the functions (the API and one per event source), their roles and wiring were created
    assert created.count("AWS::Lambda::Function") >= 11
    assert created.count("AWS::IAM::Role") == created.count("AWS::Lambda::Function") + 1
    assert created.count("AWS::Lambda::EventSourceMapping") == len(rehearse.EXPECTED_MAPPINGS)
    assert {"AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SNS::Topic", "AWS::SQS::Queue",
            "AWS::StepFunctions::StateMachine", "AWS::Events::Rule",
            "AWS::Lambda::Permission"} <= set(created)
    # everything else is one of the types listed as not creatable, each checked statically
    assert set(result.checked_statically.values()) == set(rehearse.CANNOT_CREATE)
    assert not set(created) & set(rehearse.CANNOT_CREATE)
    # read back through the emulator's Lambda API
    assert set(result.mappings) == set(rehearse.EXPECTED_MAPPINGS)
    stream = result.mappings["TicketChanged"]
    assert stream["BisectBatchOnFunctionError"] is True and stream["MaximumRetryAttempts"] == 10
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["DestinationConfig"]["OnFailure"]["Destination"].endswith(
        f"setu-{result.stage}-stream-failures")
    assert result.mappings["TimerFired"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "${" not in result.state_machine_definition
    assert f"/setu-{result.stage}-timers" in result.state_machine_definition


def _broken(sam: dict, change) -> dict:
    broken = copy.deepcopy(sam)
    change(broken["Resources"])
    return broken


def _fails(sam: dict, built, emulator, step: str, needle: str) -> None:
    with pytest.raises(rehearse.RehearsalFailed) as failure:
        rehearse.rehearse(sam, built / "deployment.zip", emulator)
    assert failure.value.step == step, failure.value
    assert needle in str(failure.value), failure.value


def test_a_broken_reference_fails_the_rehearsal(sam, built, emulator):
    def change(resources):
        events = resources["TimerFired"]["Properties"]["Events"]
        events["TimerFiredSqsEventSource"]["Properties"]["Queue"] = {
            "Fn::GetAtt": ["NoSuchQueue", "Arn"]}

    _fails(_broken(sam, change), built, emulator, "create", "NoSuchQueue")


def test_a_missing_required_property_fails_the_rehearsal(sam, built, emulator):
    # refused by the SAM translator
    def no_stream(resources):
        events = resources["TicketChanged"]["Properties"]["Events"]
        events["TicketChangedDynamodbEventSource"]["Properties"].pop("Stream")

    _fails(_broken(sam, no_stream), built, emulator, "translate",
           "Missing required property 'Stream'")
    # refused by the emulator's CloudFormation (a table without KeySchema is refused too, but
    # by a crash inside moto rather than an error: that would leave an emulator traceback)
    _fails(_broken(sam, lambda r: r["TimerQueue"]["Properties"]["RedrivePolicy"].pop(
        "deadLetterTargetArn")), built, emulator, "create", "deadLetterTargetArn")


def test_a_type_the_emulator_skips_fails_unless_listed(sam, built, emulator):
    """moto creates nothing for a type it does not know, without failing the stack."""
    def change(resources):
        resources["Config"] = {"Type": "AWS::AppConfig::Application",
                               "Properties": {"Name": "setu-config"}}

    _fails(_broken(sam, change), built, emulator, "create", "Config")


def test_event_source_settings_are_read_back(sam, built, emulator):
    def change(resources):
        events = resources["TicketChanged"]["Properties"]["Events"]
        events["TicketChangedDynamodbEventSource"]["Properties"].pop("DestinationConfig")

    _fails(_broken(sam, change), built, emulator, "created resources",
           "TicketChanged: OnFailure destination")


@pytest.mark.parametrize("change, needle", [
    (lambda r: r["InboundRule"]["Properties"]["Rule"].pop("ScanEnabled"), "ScanEnabled"),
    (lambda r: r["InboundRule"]["Properties"]["Rule"]["Actions"][0]["S3Action"].update(
        ObjectKeyPrefix="raw/"), "prefix"),
    (lambda r: r.pop("TimerFiredErrorsAlarm"), "TimerFired: no Errors alarm"),
    (lambda r: r.pop("InboundRuleSet"), "expected one AWS::SES::ReceiptRuleSet"),
    (lambda r: r["SigningSecret"]["Properties"]["GenerateSecretString"].update(
        SecretStringTemplate="{}"), "SigningSecret: not generated"),
    (lambda r: r["SigningSecret"].pop("DeletionPolicy"), "SigningSecret: DeletionPolicy"),
    (lambda r: r["ConsoleUserPool"]["Properties"]["AdminCreateUserConfig"].update(
        AllowAdminCreateUserOnly=False), "ConsoleUserPool: self sign-up"),
    (lambda r: r["ConsoleUserPool"]["Properties"].update(MfaConfiguration="OFF"),
     "ConsoleUserPool: TOTP"),
    (lambda r: r["ConsoleUserPool"]["Properties"].pop("UserAttributeUpdateSettings"),
     "ConsoleUserPool: a user can change their email unverified"),
    (lambda r: r["ConsoleUserPoolClient"]["Properties"].update(GenerateSecret=True),
     "ConsoleUserPoolClient: a browser client cannot keep a secret"),
    (lambda r: r["RestAPI"]["Properties"]["DefinitionBody"]["securityDefinitions"]["console"][
        "x-amazon-apigateway-authorizer"].update(providerARNs=["arn:aws:cognito-idp:x"]),
     "Cognito authorizer does not name ConsoleUserPool"),
    (lambda r: r.pop("RestAPIUnauthorizedResponse"), "401 UNAUTHORIZED gateway response"),
], ids=["scan", "prefix", "alarm", "rule-set", "secret-shape", "secret-retained",
        "pool-self-sign-up", "pool-mfa", "pool-email-change", "client-secret", "authorizer-pool", "unauthorized-shape"])
def test_what_the_emulator_cannot_create_is_checked_statically(sam, change, needle):
    translated = rehearse.translate(rehearse.point_code_at(_broken(sam, change), CODE_URI))
    problems = rehearse.static_problems(translated)
    assert any(needle in p for p in problems), problems


def test_translated_template_passes_the_static_checks(sam):
    assert rehearse.static_problems(rehearse.translate(rehearse.point_code_at(sam, CODE_URI))) == []


def test_documented_deploy_commands_upload_the_template(built):
    """The packaged template is over the inline limit of `aws cloudformation deploy`, so every
    documented deploy names an S3 bucket (or is `sam deploy --resolve-s3`)."""
    assert (built / "sam.yaml").stat().st_size > INLINE_TEMPLATE_LIMIT
    for doc in (ROOT / "README.md", ROOT / "docs" / "packaging.md"):
        text = re.sub(r"\\\n\s*", " ", doc.read_text(encoding="utf-8"))  # join continued lines
        commands = re.findall(r"(?:aws cloudformation deploy|sam deploy) --[^\n`]*", text)
        assert commands, doc
        for command in commands:
            assert "--s3-bucket" in command or "--resolve-s3" in command, (doc.name, command)
