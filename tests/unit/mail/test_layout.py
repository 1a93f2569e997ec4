"""chalicelib/mail's module layout: imports flow one way (no cycle, counting imports inside
functions), a function-level import says why it is deferred, no module is over 600 lines
without a reason in its docstring, and the names other code imports stay where they were."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

MAIL = Path(__file__).resolve().parents[3] / "chalicelib" / "mail"
MODULES = sorted(p.stem for p in MAIL.glob("*.py") if p.stem != "__init__")


def _imports(name: str) -> list[tuple[str, int, bool]]:
    """(imported chalicelib module, line, inside a function) for every import in `name`."""
    tree = ast.parse((MAIL / f"{name}.py").read_text(encoding="utf-8"))
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                if child.module == "chalicelib.mail":
                    found.extend((f"chalicelib.mail.{a.name}", child.lineno, in_function)
                                 for a in child.names)
                else:
                    found.append((child.module, child.lineno, in_function))
            visit(child, inner)

    visit(tree, False)
    return found


def _graph() -> dict[str, set[str]]:
    return {name: {module.rsplit(".", 1)[1] for module, _, _ in _imports(name)
                   if module.startswith("chalicelib.mail.")} for name in MODULES}


def test_no_import_cycles_counting_function_level_imports():
    graph = _graph()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            pytest.fail("import cycle: " + " -> ".join(path[path.index(name):] + [name]))
        if name in done:
            return
        for target in sorted(graph.get(name, ())):
            visit(target, path + [name])
        done.add(name)

    for name in MODULES:
        visit(name, [])


def test_the_low_level_modules_import_nothing_above_them():
    graph = _graph()
    assert graph["text"] == set()
    assert graph["charsets"] == set()
    assert graph["message"] == set()
    for name in ("loops", "reply", "rtf", "tnef", "html", "headers", "bodies", "charsets"):
        assert "parse" not in graph[name], name


def test_mail_imports_no_other_part_of_chalicelib():
    for name in MODULES:
        for module, line, _ in _imports(name):
            if module.startswith("chalicelib"):
                assert module.startswith("chalicelib.mail"), f"{name}.py:{line} imports {module}"


@pytest.mark.parametrize("name", MODULES)
def test_a_function_level_import_says_why_it_is_deferred(name):
    source = (MAIL / f"{name}.py").read_text(encoding="utf-8").splitlines()
    for module, line, in_function in _imports(name):
        if in_function:
            assert "# deferred:" in source[line - 1], \
                f"{name}.py:{line} imports {module} in a function"


@pytest.mark.parametrize("name", MODULES)
def test_no_module_over_600_lines_without_a_reason(name):
    text = (MAIL / f"{name}.py").read_text(encoding="utf-8")
    if text.count("\n") > 600:
        docstring = ast.get_docstring(ast.parse(text)) or ""
        assert "600 lines" in docstring, f"{name}.py has {text.count(chr(10))} lines"


def test_names_other_code_imports_are_still_where_they_were():
    from chalicelib.mail import loops, reply
    from chalicelib.mail.parse import (Attachment, ParsedMail, codec_for, decode_bytes,
                                       message_ids, original_message_ids, parse, safe_filename)

    assert callable(parse) and callable(original_message_ids) and callable(reply.visible_text)
    assert callable(loops.automatic_reasons) and callable(loops.is_bounce)
    assert ParsedMail().ok is False and Attachment("a", "text/plain", b"", False, None).size == 0
    assert codec_for("utf8") == "utf-8" and decode_bytes(b"x") == "x"
    assert message_ids("<a@b>") == ["<a@b>"] and safe_filename(None, "text/plain", 1)


def test_dead_code_is_gone():
    from chalicelib.mail import tnef

    assert not hasattr(tnef, "TNEF_TYPES")
