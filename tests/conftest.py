"""Shared test setup: nothing here talks to the network beyond 127.0.0.1 — a name other than
the loopback's is refused when it is looked up (a test that reached for real AWS, as one did
once the departments became data, fails saying so instead of waiting on DNS)."""
import os
import socket
from pathlib import Path

import pytest

# Never let a test reach real AWS, whatever the developer's shell has configured.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_name, None)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "ip6-localhost"})
_getaddrinfo = socket.getaddrinfo


def _loopback_only(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and name not in LOOPBACK and not str(name).startswith("127."):
        raise socket.gaierror(socket.EAI_NONAME, f"tests reach nothing beyond 127.0.0.1: {name!r}")
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_only


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """The AWS emulator (moto server), one per test worker: integration and packaging tests."""
    yield from running_emulator(tmp_path_factory)


def running_emulator(tmp_path_factory):
    """Start a moto server, yield its endpoint, stop it (and keep its log if it raised)."""
    from local import stack as local_stack

    port = local_stack.free_port()
    log = Path(tmp_path_factory.mktemp("moto")) / "moto.log"
    process = local_stack.start_moto(port, log)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        local_stack.wait_ready(endpoint)
        yield endpoint
    finally:
        local_stack.stop(process)
        _keep_if_broken(log)


def _keep_if_broken(log: Path) -> None:
    """An emulator that raised keeps its log in build/test-logs (pytest's own tmp directories
    rotate away), so a CI failure that cascades from it can be read afterwards."""
    text = log.read_text(errors="replace") if log.exists() else ""
    if "Traceback" not in text:
        return
    keep = Path(__file__).resolve().parents[1] / "build" / "test-logs"
    keep.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (keep / f"moto-{worker}.log").write_text(text)
    first = text[text.index("Traceback"):][:3000]
    print(f"\nemulator raised (log kept in build/test-logs/moto-{worker}.log):\n{first}")


# Files that start a whole local stack, a browser or a package build run for minutes on one
# xdist worker (`--dist loadfile`); started last they would leave the other workers idle at the
# end of `make test`. So they are handed out first (the Makefile turns off xdist's own
# "most tests first" reordering, which put them last), then the integration files by size,
# then the unit tests, which fill the gaps. The order within a file is unchanged.
LONG_FILES = ("tests/e2e/", "tests/browser/", "tests/packaging/")


def pytest_collection_modifyitems(session, config, items):
    sizes: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        sizes[path] = sizes.get(path, 0) + 1

    def rank(item) -> tuple[int, int, str]:
        path = item.nodeid.split("::", 1)[0]
        group = 0 if path.startswith(LONG_FILES) else 1 if path.startswith("tests/integration/") else 2
        return group, -sizes[path], path

    items.sort(key=rank)
