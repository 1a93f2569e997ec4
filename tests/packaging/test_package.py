"""The deployment package: small, free of what the Lambda runtime provides, and working.

The zip `make package` builds is unzipped and run in a fresh interpreter whose only
libraries are the package's own and boto3 with its dependencies, as on Lambda (see
lambda_like.py); it imports the app, answers GET /health, handles a web-form post and records
bad SNS notifications as rejections against the emulator, and gives the same results as the
full virtualenv for mail parsing, phone numbers, email addresses and public holidays. Static
checks keep the pruning rules in infra/package.py true to how chalicelib uses the libraries.
"""
from __future__ import annotations

import ast
import struct
import uuid
import zipfile
from pathlib import PurePosixPath

import yaml

from infra import package
from tests.packaging.conftest import ROOT, lambda_environment, run_probes

GOAL_BYTES = 3 * 1024 * 1024  # with the bytecode `make package` ships by default
CONSOLE_GOAL_BYTES = 96 * 1024  # the agent console's assets: a budget of their own (bench/package_size.py)
# Modules in the zip that cannot be imported, and why that is fine.
UNIMPORTABLE = {
    # email-validator's DNS deliverability check: dnspython is not packaged and Setu always
    # passes check_deliverability=False (test_email_validation_never_checks_deliverability)
    "email_validator.deliverability": "No module named 'dns'",
    # powertools' other idempotency stores and serialisers: optional dependencies
    "aws_lambda_powertools.utilities.idempotency.persistence.redis": "No module named 'redis'",
    "aws_lambda_powertools.utilities.idempotency.persistence.cache": "No module named 'redis'",
    "aws_lambda_powertools.utilities.idempotency.serialization.pydantic":
        "No module named 'pydantic'",
    # phonenumberslite is phonenumbers without carrier, geocoding and time-zone data
    "phonenumbers.carrier": "No module named 'phonenumbers.carrierdata'",
    "phonenumbers.geocoder": "No module named 'phonenumbers.geodata'",
    "phonenumbers.timezone": "No module named 'phonenumbers.tzdata'",
}
ELF_MACHINES = {"x86_64": 62, "arm64": 183}


def _chalicelib_trees():
    for path in sorted((ROOT / "chalicelib").rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


# ---- the zip itself ------------------------------------------------------------------------

def test_zip_is_at_most_3_mb_and_vendors_nothing_the_runtime_provides(built):
    from bench import package_size

    zip_path = built / "deployment.zip"
    console, _, files = package_size.console_bytes(zip_path)
    size = zip_path.stat().st_size - console
    assert size <= GOAL_BYTES, f"deployment.zip without the console is {size:,} bytes (goal {GOAL_BYTES:,})"
    assert files >= 8 and console <= CONSOLE_GOAL_BYTES, \
        f"the console's {files} assets are {console:,} bytes in the zip (goal {CONSOLE_GOAL_BYTES:,})"
    assert package_size.CONSOLE_GOAL_BYTES == CONSOLE_GOAL_BYTES
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert not tops & {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil",
                       "six.py", "dns"}
    assert not [t for t in tops if t.startswith(("botocore-", "boto3-", "urllib3-", "six-",
                                                 "python_dateutil-", "dnspython-"))]
    assert {"app.py", "chalicelib", "chalice", "pynamodb", "aws_lambda_powertools", "jinja2",
            "holidays", "phonenumbers", "nh3"} <= tops
    assert not [n for n in names if n.endswith(".pyi")]
    # bytecode only where infra/package.py compiles it (test_bytecode_...)
    assert not [n for n in names if (n.endswith(".pyc") or "__pycache__" in n)
                and not n.startswith(package.BYTECODE_TREES) and not n.startswith("__pycache__/app.")]
    # dist-info: METADATA (importlib.metadata.version works) and licences only
    extra = [n for n in names if n.split("/", 1)[0].endswith(".dist-info")
             and not (n.endswith("/METADATA") or "/licenses/" in n
                      or package.LICENCE_NAME.match(n.rsplit("/", 1)[1]))]
    assert not extra


def test_bytecode_ships_for_what_import_app_loads_for_the_templates_runtime(built):
    """Lambda's /var/task is read-only: without .pyc every cold start compiles these modules.
    The bytecode is for the Python the template's functions run (pinned by _check_runtime)."""
    template = yaml.safe_load((built / "sam.yaml").read_text())
    runtimes = {r["Properties"].get("Runtime") for r in template["Resources"].values()
                if r["Type"] == "AWS::Serverless::Function"}
    assert len(runtimes) == 1
    tag = "cpython-" + runtimes.pop().removeprefix("python").replace(".", "")
    with zipfile.ZipFile(built / "deployment.zip") as archive:
        names = set(archive.namelist())
        header = archive.read(f"__pycache__/app.{tag}.pyc")[:16]
    sources = [n for n in names if n.endswith(".py") and n.startswith(package.BYTECODE_TREES)]
    assert len(sources) > 100
    missing = [n for n in sources if str(PurePosixPath(n).parent / "__pycache__" /
                                         f"{PurePosixPath(n).stem}.{tag}.pyc") not in names]
    assert missing == []
    assert not [n for n in names if n.endswith(".pyc") and f".{tag}.pyc" not in n]
    # checked-hash pyc (PEP 552: flags 0b11), so a stale one is never used
    assert int.from_bytes(header[4:8], "little") == 0b11


def test_pruned_trees_hold_only_what_the_rules_keep(built):
    with zipfile.ZipFile(built / "deployment.zip") as archive:
        names = archive.namelist()
        registry = archive.read("holidays/registry.py").decode()
    powertools = {n.split("/")[1] for n in names if n.startswith("aws_lambda_powertools/")}
    assert "event_handler" not in powertools and "idempotency" in {
        n.split("/")[2] for n in names if n.startswith("aws_lambda_powertools/utilities/")}
    countries = {PurePosixPath(n).stem for n in names if n.startswith("holidays/countries/")}
    assert {"bangladesh", "india", "__init__"} <= countries and "united_states" not in countries
    assert not [n for n in names if n.startswith(("holidays/locale/", "holidays/financial/",
                                                  "phonenumbers/shortdata/region_"))]
    assert '"united_states"' not in registry and "'bangladesh'" in registry


def test_shared_objects_are_linux_builds_for_the_templates_runtime_and_architecture(built):
    template = yaml.safe_load((built / "sam.yaml").read_text())
    functions = {k: v["Properties"] for k, v in template["Resources"].items()
                 if v["Type"] == "AWS::Serverless::Function"}
    assert len(functions) >= 7  # the API and the event handlers
    runtimes = {p.get("Runtime") for p in functions.values()}
    architectures = {tuple(p.get("Architectures", ["x86_64"])) for p in functions.values()}
    assert len(runtimes) == 1 and len(architectures) == 1, (runtimes, architectures)
    runtime, (architecture,) = runtimes.pop(), architectures.pop()
    tag = "cpython-" + runtime.removeprefix("python").replace(".", "")
    machine = ELF_MACHINES[architecture]
    with zipfile.ZipFile(built / "deployment.zip") as archive:
        objects = {n: archive.read(n)[:64] for n in archive.namelist() if n.endswith(".so")}
    assert {"nh3/nh3.abi3.so"} <= set(objects), sorted(objects)
    for name, head in objects.items():
        assert head[:4] == b"\x7fELF" and head[4] == 2, f"{name} is not a 64-bit ELF object"
        assert struct.unpack_from("<H", head, 18)[0] == machine, f"{name} is not {architecture}"
        assert ".abi3." in name or f".{tag}-" in name, f"{name} is not built for {runtime}"


# ---- the unzipped package in a clean interpreter ------------------------------------------

def test_packaged_app_imports_and_answers_beside_only_boto3(lambda_run, unzipped, runtime_folder):
    env = lambda_run["environment"]
    assert not env["site_imported"] and not [p for p in env["path"] if "site-packages" in p]
    origins = env["origins"]
    for name in ("app", "chalicelib", "chalice", "pynamodb", "aws_lambda_powertools",
                 "holidays", "nh3"):
        assert origins[name] and origins[name].startswith(str(unzipped)), (name, origins[name])
    for name in ("boto3", "botocore", "dateutil", "jmespath", "urllib3"):
        assert origins[name] and origins[name].startswith(str(runtime_folder)), name
    for name in ("moto", "pytest", "yaml", "requests", "dns", "aws_xray_sdk"):
        assert origins[name] is None, f"{name} is importable in the clean interpreter"

    assert lambda_run["import_app"]["handlers"] == sorted(
        ["timer_fired", "ticket_changed", "timeline_appended", "inbound_email", "inbound_sms",
         "ses_events"]), lambda_run["import_app"]
    assert lambda_run["health"] == {"status": 200, "body": {"status": "ok"}}
    chalicelib = lambda_run["chalicelib"]
    assert chalicelib.get("modules", 0) > 40 and chalicelib["failures"] == {}, chalicelib
    assert lambda_run["templates"].get("failures") == {} and lambda_run["templates"]["templates"]
    assert lambda_run["idempotency_import"] == {"ok": True}


def test_every_module_in_the_zip_imports_or_is_a_known_exception(lambda_run):
    result = lambda_run["all_modules"]
    assert result.get("modules", 0) > 300, result
    unexpected = {m: e for m, e in result["failures"].items()
                  if m not in UNIMPORTABLE or (UNIMPORTABLE[m] and UNIMPORTABLE[m] not in e)}
    assert unexpected == {}


def test_pruning_changes_no_result(lambda_run, reference_run):
    for probe in ("mail", "sanitise", "contacts"):
        assert "error" not in lambda_run[probe], lambda_run[probe]
        assert lambda_run[probe] == reference_run[probe], probe
    assert len(lambda_run["mail"]) >= 60
    assert not [k for k, v in lambda_run["mail"].items() if "error" in v]
    assert len(lambda_run["contacts"]["regions"]) > 200
    assert lambda_run["contacts"]["local"]["০১৭১১০০০০০০"] == "+8801711000000"
    assert lambda_run["holidays"]["dates"] == reference_run["holidays"]["dates"]


def test_holiday_countries_not_shipped_are_refused_not_crashing(lambda_run, reference_run):
    holidays = lambda_run["holidays"]
    assert "error" not in holidays, holidays
    assert holidays["default_country"] in package.HOLIDAY_COUNTRIES
    assert set(holidays["dates"]) == set(package.HOLIDAY_COUNTRIES)
    assert all(len(dates) >= 4 * 5 for dates in holidays["dates"].values())
    assert holidays["known"] == {"BD": True, "IN": True, "US": False, "GB": False, "ZZ": False}
    assert reference_run["holidays"]["known"]["US"] is True  # the full library knows it
    assert holidays["refused"]["BD"] is None
    kind, fields = holidays["refused"]["US"]
    assert kind == "ValidationFailed" and "holidays_country" in fields


def test_packaged_app_handles_events_against_the_emulator(built, unzipped, runtime_folder,
                                                          emulator, tmp_path):
    from local import stack as local_stack

    stage = "p" + uuid.uuid4().hex[:8]
    outputs = local_stack.deploy(emulator, stage)
    env = lambda_environment({**local_stack.environment(outputs, emulator),
                              "SETU_STAGE": "local"})
    result = run_probes([unzipped, runtime_folder], ["events"], clean=True, env=env)["events"]
    assert "error" not in result, result.get("traceback")
    create = result["create"]
    assert create["status"] == [201, 201] and create["same"], create
    assert create["body"].get("ref"), create
    assert result["form"] == {"status": 200, "has_form": True}
    # the handlers returned (nothing: Lambda would not retry) and the rejections are stored
    assert result["rejections"] == {"sms": None, "email": None,
                                    "sms_recorded": 1, "email_recorded": 1}


# ---- static guards for the pruning rules ---------------------------------------------------

def test_email_validation_never_checks_deliverability():
    """dnspython is not packaged: every validate_email call must pass check_deliverability=False."""
    calls = 0
    for path, tree in _chalicelib_trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id",
                                                      getattr(node.func, "attr", "")) == "validate_email":
                calls += 1
                flags = {k.arg: k.value for k in node.keywords}
                assert isinstance(flags.get("check_deliverability"), ast.Constant) and \
                    flags["check_deliverability"].value is False, f"{path}:{node.lineno}"
    assert calls >= 1


def _attributes_of(module: str) -> set[tuple[str, str, int]]:
    """(attribute, file, line) for every `module.attr` and `from module import attr`."""
    used = set()
    for path, tree in _chalicelib_trees():
        aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases |= {a.asname or a.name for a in node.names if a.name == module}
            elif isinstance(node, ast.ImportFrom) and node.module and (
                    node.module == module or node.module.startswith(module + ".")):
                used |= {(f"{node.module}:{a.name}", path.name, node.lineno) for a in node.names}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases):
                used.add((node.attr, path.name, node.lineno))
    return used


def test_holidays_are_asked_only_for_dates_without_a_language():
    """Translations are not packaged: no call may ask for holiday names in a language."""
    used = {attr for attr, _, _ in _attributes_of("holidays")}
    assert used <= {"country_holidays", "list_supported_countries"}, used
    for path, tree in _chalicelib_trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "country_holidays":
                assert "language" not in {k.arg for k in node.keywords}, f"{path}:{node.lineno}"


def test_phone_numbers_use_no_short_number_metadata():
    """phonenumbers' short-number metadata is not packaged."""
    used = {attr for attr, _, _ in _attributes_of("phonenumbers")}
    assert used <= {"parse", "NumberParseException", "is_valid_number", "format_number",
                    "PhoneNumberFormat", "is_possible_number", "region_code_for_number",
                    "number_type", "PhoneNumberType"}, used


def test_powertools_imports_stay_inside_the_kept_subpackages(unzipped):
    """chalicelib imports only kept powertools modules, and the kept modules import (even
    inside functions) only kept modules - except where noted."""
    def kept(module: str) -> bool:
        path = unzipped.joinpath(*module.split("."))
        return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()

    for attr, name, line in _attributes_of("aws_lambda_powertools"):
        module = attr.split(":", 1)[0]
        assert kept(module), f"chalicelib/{name}:{line} imports {module}, not packaged"

    allowed = {  # reached only for pydantic models; pydantic is not packaged
        ("aws_lambda_powertools/shared/functions.py",
         "aws_lambda_powertools.event_handler.openapi.compat")}
    missing = set()
    for path in sorted((unzipped / "aws_lambda_powertools").rglob("*.py")):
        rel = path.relative_to(unzipped).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = set()
        for node in ast.walk(tree):  # `if TYPE_CHECKING:` blocks are never executed
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skip |= {id(n) for child in node.body for n in ast.walk(child)}
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            for module in names:
                if module and module.startswith("aws_lambda_powertools.") and not kept(module) \
                        and (rel, module) not in allowed:
                    missing.add((rel, module))
    assert missing == set()


def test_bytecode_build_refuses_a_runtime_other_than_the_compiling_python(tmp_path):
    """Shipped bytecode runs only on the Python minor version that compiled it."""
    import sys

    import pytest

    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    template = tmp_path / "sam.yaml"
    for runtime, ok in ((here, True), ("python3.9", False), (None, False)):
        props = {"Handler": "app.app"} | ({"Runtime": runtime} if runtime else {})
        template.write_text(yaml.safe_dump({"Resources": {
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": props}}}))
        if ok:
            package._check_runtime(template)
        else:
            with pytest.raises(package.PackagingError, match="--no-bytecode"):
                package._check_runtime(template)
