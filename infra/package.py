"""The deployment package: ``chalice package``, then a slim zip.

Chalice vendors every requirement and its whole dependency closure, with no way to exclude
anything: pynamodb pulls botocore (16 MB compressed) although the Lambda Python runtime ships
boto3, botocore and their dependencies, and several libraries carry far more than Setu uses.
So after ``chalice package`` (which still chooses the manylinux wheels of compiled packages
for the template's runtime and architecture) `slim` rewrites ``deployment.zip``:

* distributions the Lambda runtime provides (`RUNTIME_PROVIDED`) are removed, file by file
  as their ``*.dist-info/RECORD`` lists them: the runtime's own boto3 must not meet a second,
  different botocore;
* distributions Setu never imports (`NEVER_IMPORTED`) are removed the same way;
* everywhere: ``__pycache__``, ``*.pyc``, type stubs, C sources, ``*.data/`` install scripts;
  ``*.dist-info`` keeps only ``METADATA``'s headers (``importlib.metadata.version`` still
  works: holidays needs it at import) and the licence files;
* aws-lambda-powertools keeps only `POWERTOOLS_KEEP` (the package root and what the
  idempotency utility needs), not the event handler, parser, data classes and the rest;
* holidays keeps its core, calendars and groups, and only the countries in
  `HOLIDAY_COUNTRIES` (with what they derive from); its registry is rewritten to list only
  those, so ``holidays.list_supported_countries()`` - which validates a calendar's
  ``holidays_country`` - answers with what the package can load. Financial markets and the
  holiday-name translations go: Setu asks only for dates and passes no ``language``, and then
  holidays falls back to the names in its source without reading a ``.mo`` file. The
  school-term calendars of Germany and Australia (read only by those countries) and the
  iCalendar export go too;
* phonenumbers keeps its numbering-plan metadata for every region but not the short-number
  metadata (emergency and service codes), read only by the short-number functions, which
  Setu does not call;
* charset-normalizer's mypyc-compiled copies of ``md`` and ``cd`` go; the same modules'
  Python sources, which it ships too, are imported instead (slower on big undeclared-charset
  mail, identical results);
* the remaining shared objects (nh3, markupsafe) lose their symbol tables and debug info
  (``strip --strip-unneeded``, when binutils is installed; the dynamic symbols stay);
* Setu's own sources (`COMMENT_FREE_TREES`) lose their comments, each line kept where it
  was (a comment-only line becomes empty), so tracebacks quote the same lines;
* the zip is written again at deflate level 9.

By default (``--no-bytecode`` to opt out) the zip also ships compiled bytecode
(``__pycache__/*.cpython-3XX.pyc``, checked against the source's hash, so a stale one is never
used) for what ``import app`` loads (`BYTECODE_TREES`), compiled without docstrings. Lambda's /var/task is read-only, so
without it every cold start compiles those modules again (docs/packaging.md, "Cold start");
with it the zip is about 0.3 MB bigger (docstrings left out: nothing there reads them at run time;
the shipped .py keeps them for tracebacks). Bytecode is valid only for the Python minor version
that compiled it: the build fails unless every function's ``Runtime`` in the template (which
Chalice takes from the interpreter running it) is this interpreter's (`_check_runtime`).

Every rule checks what it expects to find and fails the build when a library's layout
changes, rather than quietly shipping something broken. tests/packaging builds the package
and imports and runs it in a clean interpreter holding only boto3 and its dependencies.

CLI::

    python -m infra.package build --stage dev --out build/dev [--merge build/merge.yaml] [--no-bytecode]
    python -m infra.package slim build/dev/deployment.zip
"""
from __future__ import annotations

import argparse
import ast
import copy
import csv
import importlib.util
import io
import marshal
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tokenize
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_REGION = "us-east-1"  # chalice package needs a region to name things; no AWS is called

# The Lambda Python 3.11/3.12 runtimes ship boto3 and botocore with these dependencies.
RUNTIME_PROVIDED = frozenset({
    "boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six",
})
# Top-level import names of those distributions, removed even if a RECORD were missing.
RUNTIME_PROVIDED_TOP_LEVEL = frozenset({
    "boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py",
})
RUNTIME_IMPORTS = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")
# Distributions in the closure that nothing in Setu imports. dnspython: email-validator
# imports it only for its DNS deliverability check, and Setu always passes
# check_deliverability=False (tests/packaging checks every call).
NEVER_IMPORTED = frozenset({"dnspython"})

# aws-lambda-powertools: Setu uses only the idempotency utility. Importing it imports the
# package root, which imports logging, metrics and tracing (the X-Ray SDK only when a Tracer
# is made, which Setu never does).
POWERTOOLS_KEEP = (
    "__init__.py", "package_logger.py", "exceptions/", "logging/", "metrics/",
    "middleware_factory/", "shared/", "tracing/", "warnings/",
    "utilities/__init__.py", "utilities/idempotency/", "utilities/jmespath_utils/",
)

# Public-holiday calendars shipped in the package (ISO 3166-1 alpha-2): BD, the built-in
# default calendar's, and its South Asian neighbours. A calendar naming another country is
# refused (400) by the packaged app; shipping one more is one more code here (3-14 KB).
HOLIDAY_COUNTRIES = ("BD", "IN", "NP", "BT", "LK", "PK")

# Files of otherwise kept packages that Setu's code paths never load (see the docstring).
NEVER_LOADED = (
    re.compile(r"^holidays/locale/"),
    re.compile(r"^holidays/financial/"),
    # school-term calendars of countries not shipped, and the iCalendar export
    re.compile(r"^holidays/calendars/(germany|australia)_school\.py$"),
    re.compile(r"^holidays/(ical|generate_ics)\.py$"),
    re.compile(r"^phonenumbers/shortdata/region_[A-Z0-9]+\.py$"),
    re.compile(r"^charset_normalizer/[^/]+\.so$"),
    re.compile(r"^charset_normalizer/cli/"),
)
# bytecode (the default): the trees `import app` loads (chalice ships only chalice/app.py and __init__).
BYTECODE_TREES = ("app.py", "chalicelib/", "chalice/", "pynamodb/")
# compiled without docstrings (_bytecode): no code there reads __doc__ (tests/unit/test_architecture.py)
DOCSTRING_FREE_TREES = BYTECODE_TREES
# Setu's own sources ship without their comments (_without_comments): a traceback shows the same
# lines at the same numbers; the comments are for readers of the repository.
COMMENT_FREE_TREES = ("app.py", "chalicelib/")
# Shared objects are stripped when `strip` is on PATH (binutils).
STRIP = ("strip", "--strip-unneeded")

DROP_SUFFIXES = (".pyc", ".pyo", ".pyi", ".c", ".h", ".pyx", ".pxd")
DROP_NAMES = frozenset({"py.typed"})
LICENCE_NAME = re.compile(r"(?i)^(licen[cs]e|copying|notice|authors)([.-].*)?$")


class PackagingError(RuntimeError):
    """The package cannot be built as designed (a library's layout changed, a rule is stale)."""


@dataclass
class SlimReport:
    bytes_before: int = 0
    bytes_after: int = 0
    files_before: int = 0
    files_after: int = 0
    dropped_distributions: list[str] = field(default_factory=list)
    holiday_countries: list[str] = field(default_factory=list)
    stripped: bool = False
    bytecode_files: int = 0

    def summary(self) -> str:
        return (f"slimmed {self.bytes_before / 2**20:.2f} MB ({self.files_before} files) -> "
                f"{self.bytes_after / 2**20:.2f} MB ({self.files_after} files); removed "
                f"{', '.join(self.dropped_distributions)}; holidays for "
                f"{', '.join(self.holiday_countries)}"
                + ("" if self.stripped else "; shared objects NOT stripped (no `strip` on PATH)")
                + (f"; bytecode for {self.bytecode_files} modules" if self.bytecode_files else ""))


# ---- reading the zip -------------------------------------------------------------------------

def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distributions(names: list[str], read) -> dict[str, tuple[str, set[str]]]:
    """normalised distribution name -> (dist-info folder, files its RECORD lists)."""
    out: dict[str, tuple[str, set[str]]] = {}
    for name in names:
        parts = name.split("/")
        if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "RECORD":
            folder = parts[0]
            dist = _normalise(folder[: -len(".dist-info")].rsplit("-", 1)[0])
            files = {row[0] for row in csv.reader(io.StringIO(read(name).decode("utf-8")))
                     if row and not row[0].startswith("../")}
            out[dist] = (folder, files)
    return out


# ---- the rules -------------------------------------------------------------------------------

def _generic_drop(name: str) -> bool:
    path = PurePosixPath(name)
    if "__pycache__" in path.parts or path.suffix in DROP_SUFFIXES or path.name in DROP_NAMES:
        return True
    head = path.parts[0]
    if head.endswith(".data"):
        return True
    if head.endswith(".dist-info"):
        rest = path.parts[1:]
        if rest == ("METADATA",):
            return False
        return not (rest and (rest[0] == "licenses" or LICENCE_NAME.match(rest[-1])))
    return False


def _metadata_headers(text: bytes) -> bytes:
    """METADATA without its description (the body after the first blank line, or an old-style
    multi-line Description header)."""
    head = text.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    lines, skipping = [], False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and skipping:
            continue  # a continuation line of the dropped header
        skipping = line.lower().startswith(b"description:")
        if not skipping:
            lines.append(line)
    return b"\n".join(lines) + b"\n"


def _powertools_keep(name: str) -> bool:
    rest = name[len("aws_lambda_powertools/"):]
    return any(rest == keep or (keep.endswith("/") and rest.startswith(keep))
               for keep in POWERTOOLS_KEEP)


@dataclass
class _Holidays:
    """What of the holidays package to keep, read from its own registry."""

    modules: set[str]           # country module names, e.g. "bangladesh"
    codes: set[str]             # every entity code of those modules (translations are per code)
    registry: bytes             # rewritten holidays/registry.py
    countries_init: bytes       # rewritten holidays/countries/__init__.py

    @classmethod
    def plan(cls, read, names: set[str], wanted: tuple[str, ...]) -> "_Holidays":
        registry_src = read("holidays/registry.py").decode("utf-8")
        tree = ast.parse(registry_src)
        tables = {}
        for node in tree.body:
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and node.target.id in ("COUNTRIES", "FINANCIAL")):
                tables[node.target.id] = node.value
        if set(tables) != {"COUNTRIES", "FINANCIAL"} or not all(
                isinstance(v, ast.Dict) for v in tables.values()):
            raise PackagingError("holidays/registry.py no longer has COUNTRIES and FINANCIAL "
                                 "dict literals; revisit infra/package.py's holidays rule")
        countries: dict[str, tuple[str, ...]] = ast.literal_eval(tables["COUNTRIES"])
        by_code = {entities[1]: module for module, entities in countries.items()}
        unknown = [code for code in wanted if code not in by_code]
        if unknown:
            raise PackagingError(f"holidays has no country {', '.join(unknown)}")
        # a country module may derive from another (e.g. a territory from its country)
        modules: set[str] = set()
        todo = [by_code[code] for code in wanted]
        while todo:
            module = todo.pop()
            if module in modules:
                continue
            modules.add(module)
            path = f"holidays/countries/{module}.py"
            if path not in names:
                raise PackagingError(f"{path} is not in the package")
            for node in ast.walk(ast.parse(read(path))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                        "holidays.countries."):
                    todo.append(node.module.split(".")[2])
        codes = {code for module in modules for code in countries[module][1:]}

        kept = {module: countries[module] for module in sorted(modules)}
        body = "".join(f"    {module!r}: {entities!r},\n" for module, entities in kept.items())
        new_registry = _splice(registry_src, {
            tables["COUNTRIES"]: "{\n" + body + "}",
            tables["FINANCIAL"]: "{}",
        })
        init_src = read("holidays/countries/__init__.py").decode("utf-8")
        init_tree = ast.parse(init_src)
        lines = ["# Rewritten by infra/package.py: only the countries shipped in this package.\n"]
        for node in init_tree.body:
            if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "holidays.countries.")):
                raise PackagingError("holidays/countries/__init__.py holds more than imports of "
                                     "its country modules; revisit infra/package.py")
            if node.module.split(".")[2] in modules:
                lines.append(ast.get_source_segment(init_src, node) + "\n")
        return cls(modules=modules, codes=codes, registry=new_registry.encode("utf-8"),
                   countries_init="".join(lines).encode("utf-8"))

    def keep(self, name: str) -> bool:
        parts = name.split("/")
        if len(parts) == 3 and parts[1] == "countries":
            return parts[2] == "__init__.py" or parts[2][:-3] in self.modules
        return True


def _splice(source: str, replacements: dict[ast.AST, str]) -> str:
    """Replace each node's exact source span in source by its text."""
    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))

    def at(line: int, col: int) -> int:  # ast columns are UTF-8 byte offsets
        return offsets[line - 1] + len(source[offsets[line - 1]:offsets[line]]
                                       .encode("utf-8")[:col].decode("utf-8"))

    spans = sorted(((at(n.lineno, n.col_offset), at(n.end_lineno, n.end_col_offset), text)
                    for n, text in replacements.items()), reverse=True)
    for start, end, text in spans:
        source = source[:start] + text + source[end:]
    return source


def _strip(data: bytes, strip: str) -> bytes:
    """A shared object without its symbol table and debug sections (dynamic symbols stay)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lib.so"
        path.write_bytes(data)
        subprocess.run([strip, *STRIP[1:], str(path)], check=True, capture_output=True)
        return path.read_bytes()


# ---- the rewrite -----------------------------------------------------------------------------

def _bytecode(name: str, source: bytes) -> tuple[str, bytes]:
    """(zip path, contents) of the checked-hash .pyc of the module at name (PEP 552: the header
    holds the source's hash, so a stale .pyc is never used). Modules under
    `DOCSTRING_FREE_TREES` are compiled without their docstrings: nothing reads them at run
    time, they are a good part of the bytecode, and the .py beside it still has them for
    tracebacks (line numbers are unchanged: every other node keeps its position)."""
    path = PurePosixPath(name)
    target = path.parent / "__pycache__" / f"{path.stem}.{sys.implementation.cache_tag}.pyc"
    tree = ast.parse(source, filename=name)
    if name.startswith(DOCSTRING_FREE_TREES):
        _drop_docstrings(tree)
    code = compile(tree, name, "exec", dont_inherit=True)
    header = (importlib.util.MAGIC_NUMBER + (0b11).to_bytes(4, "little")
              + importlib.util.source_hash(source))
    return str(target), header + marshal.dumps(code)


def _without_comments(source: bytes) -> bytes:
    """The source without its comments: every line stays (a comment-only line is left empty),
    so line numbers, and the code a traceback quotes, are unchanged; an encoding declaration in
    the first two lines and a shebang stay. Code that does not tokenize is returned as is."""
    lines = source.decode("utf-8").splitlines(keepends=True)
    cuts: dict[int, int] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source.decode("utf-8")).readline):
            row, col = token.start
            if token.type == tokenize.COMMENT and not (
                    row <= 2 and (token.string.startswith("#!") or "coding" in token.string)):
                cuts[row - 1] = col
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source
    for index, col in cuts.items():
        line = lines[index]
        ending = line[len(line.rstrip("\r\n")):]
        lines[index] = line[:col].rstrip() + ending
    return "".join(lines).encode("utf-8")


def _drop_docstrings(tree: ast.Module) -> None:
    """Remove every module, class and function docstring (a body left empty gets `pass` on the
    docstring's line)."""
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        first = node.body[0] if node.body else None
        if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)):
            node.body[0:1] = [] if len(node.body) > 1 else [ast.copy_location(ast.Pass(), first)]


def slim(zip_path: Path | str, *, holiday_countries: tuple[str, ...] = HOLIDAY_COUNTRIES,
         compresslevel: int = 9, bytecode: bool = True) -> SlimReport:
    """Rewrite the chalice deployment zip in place as described in the module docstring."""
    zip_path = Path(zip_path)
    report = SlimReport(bytes_before=zip_path.stat().st_size)
    with zipfile.ZipFile(zip_path) as source:
        infos = source.infolist()
        names = [i.filename for i in infos]
        name_set = set(names)
        report.files_before = len(infos)
        dists = _distributions(names, source.read)

        dropped: set[str] = set()
        for dist in sorted(RUNTIME_PROVIDED | NEVER_IMPORTED):
            if dist in dists:
                folder, files = dists[dist]
                dropped |= files | {n for n in names if n.startswith(folder + "/")}
                report.dropped_distributions.append(dist)
        if "holidays/registry.py" in name_set:
            plan = _Holidays.plan(source.read, name_set, holiday_countries)
            report.holiday_countries = sorted(
                code for code in plan.codes if len(code) == 2 and code in holiday_countries)
        else:
            plan = None
        if "aws_lambda_powertools/__init__.py" in name_set:
            missing = [k for k in POWERTOOLS_KEEP
                       if f"aws_lambda_powertools/{k}" not in name_set and not any(
                           n.startswith(f"aws_lambda_powertools/{k}") for n in names)]
            if missing:
                raise PackagingError(f"aws_lambda_powertools has no {', '.join(missing)}")

        strip = shutil.which(STRIP[0])
        report.stripped = bool(strip)
        tmp = zip_path.with_suffix(".slim.tmp")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as out:
            for info in infos:
                name = info.filename
                if info.is_dir() or name in dropped or _generic_drop(name):
                    continue
                head = name.split("/", 1)[0]
                if head in RUNTIME_PROVIDED_TOP_LEVEL:
                    continue
                if head == "aws_lambda_powertools" and not _powertools_keep(name):
                    continue
                if any(rule.search(name) for rule in NEVER_LOADED):
                    continue
                data = source.read(name)
                if name.endswith(".so") and strip:
                    data = _strip(data, strip)
                if head == "holidays" and plan is not None:
                    if not plan.keep(name):
                        continue
                    if name == "holidays/registry.py":
                        data = plan.registry
                    elif name == "holidays/countries/__init__.py":
                        data = plan.countries_init
                if head.endswith(".dist-info") and name.endswith("/METADATA"):
                    data = _metadata_headers(data)
                if name.endswith(".py") and name.startswith(COMMENT_FREE_TREES):
                    data = _without_comments(data)
                copy = zipfile.ZipInfo(name, date_time=info.date_time)
                copy.external_attr = info.external_attr
                copy.create_system = info.create_system
                copy.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(copy, data, compresslevel=compresslevel)
                if bytecode and name.endswith(".py") and name.startswith(BYTECODE_TREES):
                    pyc_name, pyc = _bytecode(name, data)
                    extra = zipfile.ZipInfo(pyc_name, date_time=info.date_time)
                    extra.external_attr = info.external_attr
                    extra.compress_type = zipfile.ZIP_DEFLATED
                    out.writestr(extra, pyc, compresslevel=compresslevel)
                    report.bytecode_files += 1
            report.files_after = len(out.infolist())
    os.replace(tmp, zip_path)
    report.bytes_after = zip_path.stat().st_size
    return report


# ---- the package as Lambda sees it ----------------------------------------------------------

def lambda_layout(zip_path: Path | str, target: Path | str) -> list[Path]:
    """sys.path entries as on Lambda: the unzipped package, then the runtime's boto3.

    target/task holds the unzipped zip (/var/task); target/runtime links this interpreter's
    copies of the libraries the Lambda runtime provides, and nothing else. Run an interpreter
    with ``-I -S`` (no site-packages) and these two folders first on sys.path."""
    target = Path(target)
    task, runtime = target / "task", target / "runtime"
    shutil.rmtree(target, ignore_errors=True)
    task.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(task)
    runtime.mkdir()
    for name in RUNTIME_IMPORTS:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            raise PackagingError(f"{name} is not installed here; it is needed beside the package")
        source = Path(spec.origin)
        source = source.parent if source.name == "__init__.py" else source
        (runtime / source.name).symlink_to(source)
    return [task, runtime]


# ---- the whole build -------------------------------------------------------------------------

def chalice_command() -> list[str]:
    chalice = Path(sys.executable).parent / "chalice"
    return [str(chalice)] if chalice.exists() else [sys.executable, "-m", "chalice.cli"]


class _BuildLock:
    """One build at a time in this checkout: chalice writes its cached dependency zip
    (.chalice/deployments/<hash>-<python>.zip) in place, and a second chalice that finds the
    half-written file would reuse it."""

    def __enter__(self):
        import fcntl

        path = ROOT / "build" / ".package.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(path, "w")
        fcntl.flock(self._handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()


def _chalice_cache(keep: int = 3) -> None:
    """Forget broken cached zips (an interrupted build) and all but the newest few."""
    folder = ROOT / ".chalice" / "deployments"
    if not folder.is_dir():
        return
    cached = sorted(folder.glob("*.zip"), key=lambda p: p.stat().st_mtime, reverse=True)
    for index, path in enumerate(cached):
        if index >= keep or not zipfile.is_zipfile(path):
            path.unlink(missing_ok=True)


def _check_runtime(template: Path) -> None:
    """Bytecode is only valid for the Python minor version that compiled it."""
    import yaml

    data = yaml.safe_load(template.read_text(encoding="utf-8"))
    runtimes = {r["Properties"].get("Runtime") for r in data.get("Resources", {}).values()
                if r.get("Type") == "AWS::Serverless::Function"}
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtimes - {here}:
        raise PackagingError(f"bytecode: the functions run {', '.join(sorted(map(str, runtimes)))}"
                             f" but this interpreter is {here}; build with that Python, or "
                             "--no-bytecode")


def check_policies(template: Path, stage: str) -> None:
    """Every function's role in the packaged template carries exactly its policy generated from
    infra/permissions.yaml (never .chalice/policy-placeholder.json's deny-all)."""
    import yaml

    from infra import permissions, render

    data = yaml.load(template.read_text(encoding="utf-8"), Loader=render.CfnLoader)  # noqa: S506
    resources = data.get("Resources", {})
    for function in permissions.functions():
        role = resources.get(permissions.role_logical_id(function))
        if role is None or role.get("Type") != "AWS::IAM::Role":
            raise PackagingError(f"{function}: no role {permissions.role_logical_id(function)} "
                                 "in the packaged template (did Chalice rename its roles?)")
        documents = [p["PolicyDocument"] for p in role["Properties"].get("Policies", [])]
        if documents != [permissions.policy_document(function, stage)]:
            raise PackagingError(f"{function}: its role's policy is not the one generated from "
                                 "infra/permissions.yaml")


ANY_METHOD = "x-amazon-apigateway-any-method"
# API Gateway's own 403 (a path no route has, or an unsigned request to an IAM route) in the
# contract's error shape; local/gateway.py answers the same.
NO_ROUTE_BODY = ('{"error": {"code": "forbidden", "message": "No such route, or the request is '
                 'not signed (API Gateway\'s Missing Authentication Token)."}}')

# API Gateway's 401 for a console route (/console/api/..., Cognito authorizer) without a valid
# ID token; local/gateway.py answers the same.
UNAUTHORIZED_BODY = ('{"error": {"code": "unauthenticated", "message": "Sign in to the '
                     'console: Authorization: Bearer <a valid Cognito ID token>."}}')


def _gateway_response(api: str, kind: str, status: str, body: str) -> dict:
    """An API Gateway gateway response of the REST API `api`, answering JSON `body`."""
    return {"Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {"RestApiId": {"Ref": api}, "ResponseType": kind, "StatusCode": status,
                           "ResponseParameters": {
                               "gatewayresponse.header.Content-Type": "'application/json'"},
                           "ResponseTemplates": {"application/json": body}}}


def add_any_methods(template_path: Path) -> int:
    """Give every resource of the REST API an ANY method beside its own ones, integrated with
    the same function and security. API Gateway answers a method a resource lacks with 403
    "Missing Authentication Token" before any code runs; through ANY it reaches the app, which
    answers 405 with `Allow` (Chalice's method check; the contract's error shape). The local
    stack routes the same way (local/gateway.py). Also gateway responses that give API
    Gateway's remaining 403 and its Cognito authorizer's 401 the contract's shape. Returns the number of resources changed."""
    import yaml

    template = yaml.safe_load(template_path.read_text(encoding="utf-8"))
    changed = 0
    for logical_id, resource in list(template.get("Resources", {}).items()):
        if resource.get("Type") != "AWS::Serverless::Api":
            continue
        template["Resources"][f"{logical_id}MissingTokenResponse"] = _gateway_response(
            logical_id, "MISSING_AUTHENTICATION_TOKEN", "403", NO_ROUTE_BODY)
        # the console routes' Cognito authorizer refusing a token: 401 in the same shape
        template["Resources"][f"{logical_id}UnauthorizedResponse"] = _gateway_response(
            logical_id, "UNAUTHORIZED", "401", UNAUTHORIZED_BODY)
        for item in resource["Properties"].get("DefinitionBody", {}).get("paths", {}).values():
            methods = [m for m in item.values() if isinstance(m, dict)
                       and "x-amazon-apigateway-integration" in m]
            if not methods or ANY_METHOD in item:
                continue
            model = methods[0]
            item[ANY_METHOD] = {key: copy.deepcopy(model[key]) for key in (
                "parameters", "security", "x-amazon-apigateway-integration", "responses",
                "produces") if key in model}
            item[ANY_METHOD]["consumes"] = ["*/*"]
            changed += 1
    template_path.write_text(yaml.safe_dump(template, sort_keys=False, allow_unicode=True),
                             encoding="utf-8")
    return changed


def build(stage: str = "dev", out: Path | str | None = None, merge: Path | str | None = None,
          *, quiet: bool = False, bytecode: bool = True) -> Path:
    """render the merge template, ``chalice package`` into out, slim the zip; returns the zip.

    No AWS account is involved; PyPI is, when chalice's wheel cache misses."""
    out = Path(out) if out else ROOT / "build" / stage
    merge = Path(merge) if merge else ROOT / "build" / "merge.yaml"
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("PACKAGE_REGION", PACKAGE_REGION)}
    output = subprocess.DEVNULL if quiet else None
    zip_path = out / "deployment.zip"
    with _BuildLock():
        subprocess.run([sys.executable, "-m", "infra.render", "merge", "--stage", stage,
                        "--out", str(merge)], cwd=ROOT, check=True, env=env, stdout=output)
        for attempt in (1, 2):
            _chalice_cache()
            if out.exists():
                shutil.rmtree(out)
            subprocess.run([*chalice_command(), "package", "--stage", stage,
                            "--template-format", "yaml", "--merge-template", str(merge),
                            str(out)], cwd=ROOT, check=True, env=env, stdout=output)
            if zipfile.is_zipfile(zip_path):
                break
            if attempt == 2:
                raise PackagingError(f"chalice wrote a broken {zip_path}")
        check_policies(out / "sam.yaml", stage)
        add_any_methods(out / "sam.yaml")
        if bytecode:
            _check_runtime(out / "sam.yaml")
        report = slim(zip_path, bytecode=bytecode)
    if not quiet:
        print(report.summary())
    return zip_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build_cmd = sub.add_parser("build", help="chalice package + slim zip")
    build_cmd.add_argument("--stage", default="dev")
    build_cmd.add_argument("--out", help="output folder (default build/<stage>)")
    build_cmd.add_argument("--merge", help="merge template path (default build/merge.yaml)")
    build_cmd.add_argument("--bytecode", action=argparse.BooleanOptionalAction, default=True,
                           help="ship .pyc for what `import app` loads (default; faster cold "
                                "start, about 0.4 MB more); --no-bytecode opts out")
    slim_cmd = sub.add_parser("slim", help="slim an existing chalice deployment.zip in place")
    slim_cmd.add_argument("zip")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build(args.stage, args.out, args.merge, bytecode=args.bytecode)
        else:
            # no template here to check the runtime against: no bytecode
            print(slim(args.zip, bytecode=False).summary())
    except PackagingError as exc:
        print(f"infra.package: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
