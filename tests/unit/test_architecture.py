"""Architecture rules the layer contracts (pyproject.toml, `lint-imports`) cannot state:
no import cycle among chalicelib's modules (function-level imports included), a function-level
import only for the cold start and saying so, no long module without its reason, and the app
package never importing app.py."""
import ast
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"
MAX_LINES = 600


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_cycle_among_chalicelib_modules():
    graph = grimp.build_graph("chalicelib", include_external_packages=False)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("p.a", "p.b", "p.c", "p.d"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    graph.add_import(importer="p.c", imported="p.d")
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]


def _function_level_imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    yield inner


def test_a_function_level_import_says_it_is_there_for_the_cold_start():
    unexplained = []
    for path, tree in _modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in _function_level_imports(tree):
            if not any("cold start" in line for line in lines[node.lineno - 1:node.end_lineno]):
                unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unexplained == []


def test_no_module_over_600_lines_without_its_reason():
    unexplained = []
    for path, tree in _modules():
        if len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES:
            doc = ast.get_docstring(tree) or ""
            if f"Longer than {MAX_LINES} lines:" not in doc:
                unexplained.append(str(path.relative_to(ROOT)))
    assert unexplained == []


@pytest.mark.parametrize("forbidden", ["app"])
def test_the_app_package_never_imports_the_handlers_module(forbidden):
    offenders = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name == forbidden or name.startswith(forbidden + ".") for name in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_no_code_reads_docstrings_which_its_bytecode_leaves_out():
    """infra/package.py compiles app.py, chalicelib, chalice's app and pynamodb without docstrings
    (the zip's size): code there that read __doc__ or called inspect.getdoc would get None on
    Lambda and the text locally. Writing __doc__ (pynamodb's signals) is harmless."""
    import chalice
    import pynamodb

    from infra import package

    assert set(package.DOCSTRING_FREE_TREES) == {"app.py", "chalicelib/", "chalice/", "pynamodb/"}
    chalice_dir, pynamodb_dir = Path(chalice.__file__).parent, Path(pynamodb.__file__).parent
    sources = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py")),
               chalice_dir / "__init__.py", chalice_dir / "app.py", *sorted(pynamodb_dir.rglob("*.py"))]
    readers = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if ((isinstance(node, ast.Attribute) and node.attr == "__doc__"
                 and isinstance(node.ctx, ast.Load))
                    or (isinstance(node, ast.Attribute) and node.attr == "getdoc")
                    or (isinstance(node, ast.Name) and node.id in ("getdoc", "__doc__"))):
                readers.append(f"{path}:{node.lineno}")
    assert len(sources) > 100 and readers == []


def test_docstring_free_bytecode_runs_and_keeps_line_numbers():
    import importlib.util
    import marshal

    from infra import package

    source = b'"""Module doc."""\nimport sys\n\n\ndef f():\n    """Only a doc."""\n\n\nclass C:\n    """Doc."""\n    x = 1\n\n\ndef g():\n    raise ValueError("line 15")\n'
    name, pyc = package._bytecode("chalicelib/sample.py", source)
    assert name.startswith("chalicelib/__pycache__/sample.") and pyc[:4] == importlib.util.MAGIC_NUMBER
    assert pyc[8:16] == importlib.util.source_hash(source)  # checked against the shipped source
    namespace: dict = {}
    exec(marshal.loads(pyc[16:]), namespace)
    assert namespace.get("__doc__") is None and namespace["f"].__doc__ is None
    assert namespace["f"]() is None and namespace["C"].x == 1 and namespace["C"].__doc__ is None
    with pytest.raises(ValueError) as raised:
        namespace["g"]()
    assert raised.traceback[-1].lineno + 1 == 15
    _, kept = package._bytecode("jinja2/sample.py", source)  # elsewhere docstrings are kept
    kept_ns: dict = {}
    exec(marshal.loads(kept[16:]), kept_ns)
    assert kept_ns["__doc__"] == "Module doc."


def _code_shape(code) -> list:
    """Every code object's instructions and line table, nested ones included."""
    shape = [(code.co_name, code.co_code, list(code.co_lines()), code.co_consts.__len__())]
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            shape += _code_shape(const)
    return shape


def test_shipped_sources_lose_their_comments_but_not_a_line():
    """infra/package._without_comments: every module of app.py and chalicelib/ compiles, after
    it, to the same code with the same line numbers (tracebacks quote the same lines), keeps
    its line count, and has no comment left."""
    import io
    import tokenize

    from infra import package

    sources = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    saved = 0
    for path in sources:
        source = path.read_bytes()
        stripped = package._without_comments(source)
        assert stripped.count(b"\n") == source.count(b"\n"), path
        assert _code_shape(compile(stripped, str(path), "exec")) == \
            _code_shape(compile(source, str(path), "exec")), path
        comments = [t for t in tokenize.generate_tokens(io.StringIO(stripped.decode()).readline)
                    if t.type == tokenize.COMMENT]
        assert comments == [], (path, comments[:3])
        saved += len(source) - len(stripped)
    assert len(sources) > 100 and saved > 50_000  # the comments were there to remove
    tricky = b'# -*- coding: utf-8 -*-\nx = "# not a comment"  # a comment\ny = 1\n# gone\n'
    assert package._without_comments(tricky) == \
        b'# -*- coding: utf-8 -*-\nx = "# not a comment"\ny = 1\n\n'
    assert package._without_comments(b"def (:\n") == b"def (:\n"  # untokenizable: as is
