"""The registry client against a real server process, under faults.

Each test runs the service in its own process (werkzeug, bound to 127.0.0.1 on a free port,
the test's SQLite file or PostgreSQL schema behind it) and ``certsvc registry pull`` in
another, then checks that the mirror ends identical to the source:

* the client is killed with SIGKILL in the middle of a pull (twice) and run again;
* the server is killed and restarted on the same port while a pull is running;
* the server answers 503 and drops connections half-way through pages;
* the server delivers events again that the client already has.

Run as ``python -m tests.test_registry_faults serve PORT`` this module is the server (with
the faults named in CERTSVC_TEST_FAULTS), and ``… cli ARGS`` is the ``certsvc`` command with
the registry commands loaded.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from certsvc.runtime import Runtime
from tests.conftest import assert_mirror_matches, env_of, history, issue, row, token_for

ROOT = Path(__file__).resolve().parent.parent
FEED = "/api/v1/registry/changes"

pytestmark = pytest.mark.slow


# --- the server side ----------------------------------------------------------------------------


class Faults:
    """WSGI middleware: slow, failing, cut-short or repeated feed pages, by request count.

    ``spec`` is comma-separated ``name:n`` — ``delay:0.02`` (seconds before each page),
    ``503:3`` (every 3rd page request answers 503), ``drop:4`` (every 4th page is cut off
    half-way and the connection closed), ``replay:2`` (every 2nd page starts 7 events early).
    """

    def __init__(self, app: Any, spec: str) -> None:
        self.app = app
        self.rules = {k: float(v) for k, v in (part.split(":") for part in spec.split(",") if part)}
        self.count = 0
        self.lock = threading.Lock()

    def _every(self, name: str, n: int) -> bool:
        return name in self.rules and n % int(self.rules[name]) == 0

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != FEED:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        with self.lock:
            self.count += 1
            n = self.count
        time.sleep(self.rules.get("delay", 0))
        if self._every("503", n):
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"error":{"code":"unavailable","message":"injected"}}']
        if self._every("replay", n):
            query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
            query["after"] = str(max(0, int(query.get("after", "0")) - 7))
            environ["QUERY_STRING"] = urlencode(query)
        body = self.app(environ, start_response)
        if self._every("drop", n):
            return self._cut(body)
        return body  # type: ignore[no-any-return]

    @staticmethod
    def _cut(body: Iterable[bytes]) -> Iterator[bytes]:
        chunks = iter(body)
        yield next(chunks)
        yield next(chunks, b"")[:100]
        raise ConnectionAbortedError("injected: connection dropped mid-page")


def serve(port: int) -> None:
    import logging

    from werkzeug.serving import run_simple

    from certsvc import create_app

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = create_app()
    app.wsgi_app = Faults(app.wsgi_app, os.environ.get("CERTSVC_TEST_FAULTS", ""))  # type: ignore[method-assign]
    run_simple("127.0.0.1", port, app, threaded=True)


# --- the test side ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """The service in a subprocess; ``start``/``kill`` may be repeated on the same port."""

    def __init__(self, env: dict[str, str], log: Path, faults: str = "") -> None:
        self.port = free_port()
        self.log = log
        self.env = {**os.environ, **env, "CERTSVC_TEST_FAULTS": faults}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.test_registry_faults", "serve", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("ab"),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except OSError:
                assert self.process.poll() is None, self.log.read_text()[-2000:]
                time.sleep(0.05)
        raise TimeoutError("the server did not start within 30 s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def server_factory(runtime: Runtime, tmp_path: Path) -> Iterator[Callable[[str], Server]]:
    started: list[Server] = []

    def make(faults: str = "") -> Server:
        server = Server(env_of(runtime.settings), tmp_path / "server.log", faults)
        started.append(server)
        server.start()
        return server

    yield make
    for server in started:
        server.kill()


def pull_process(
    server: Server, runtime: Runtime, mirror: Path, *extra: str
) -> subprocess.Popen[str]:
    args = ["--url", server.url, "--token", token_for(runtime), "--db", str(mirror), *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.test_registry_faults", "cli", "registry", "pull", *args],
        cwd=ROOT,
        env={**os.environ, **env_of(runtime.settings)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def cursor_of(mirror: Path) -> int:
    try:
        with sqlite3.connect(f"file:{mirror}?mode=ro", uri=True, timeout=5) as db:
            found = db.execute("SELECT cursor FROM mirror_state").fetchone()
    except sqlite3.Error:
        return 0
    return int(found[0]) if found else 0


def wait_for_cursor(mirror: Path, process: subprocess.Popen[str], above: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cursor = cursor_of(mirror)
        if cursor > above:
            return cursor
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)
    raise TimeoutError(f"the pull did not get past seq {above}")


def finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, (out, err)
    return out, err


def lots_of_history(runtime: Runtime, certificates: int = 600) -> None:
    history(runtime)
    for start in range(100, 100 + certificates, 200):
        issue(runtime, [row(n) for n in range(start, start + 200)])


def test_a_pull_killed_with_sigkill_resumes_to_an_identical_mirror(
    runtime: Runtime, body: str, tmp_path: Path, server_factory: Callable[[str], Server]
) -> None:
    lots_of_history(runtime)
    server = server_factory("delay:0.01")
    mirror = tmp_path / "mirror.db"
    seen = 0
    for _ in range(2):
        process = pull_process(server, runtime, mirror, "--limit", "20", "--quiet")
        seen = wait_for_cursor(mirror, process, seen + 40)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        assert process.returncode == -signal.SIGKILL
    killed_at = cursor_of(mirror)
    assert killed_at > 0
    out, _ = finish(pull_process(server, runtime, mirror, "--limit", "20", "--quiet"))
    assert f"(seq {killed_at + 1}.." in out
    assert_mirror_matches(runtime, mirror)


def test_a_server_restarted_during_a_pull(
    runtime: Runtime, body: str, tmp_path: Path, server_factory: Callable[[str], Server]
) -> None:
    lots_of_history(runtime, 400)
    server = server_factory("delay:0.01")
    mirror = tmp_path / "mirror.db"
    process = pull_process(server, runtime, mirror, "--limit", "20")
    wait_for_cursor(mirror, process, 40)
    # Read the client's stderr as it comes, to restart the server once the client has
    # found it gone and said it is retrying (no guess at how long that takes).
    lines: list[str] = []
    retrying = threading.Event()

    def watch() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if "retrying" in line:
                retrying.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    server.kill()
    assert retrying.wait(timeout=60), "".join(lines)
    server.start()
    assert process.stdout is not None
    out = process.stdout.read()
    assert process.wait(timeout=120) == 0, (out, "".join(lines))
    watcher.join(timeout=10)
    assert any("retrying" in line for line in lines)
    assert_mirror_matches(runtime, mirror)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_5xx_and_connections_dropped_mid_page_are_retried(
    runtime: Runtime, body: str, tmp_path: Path, server_factory: Callable[[str], Server]
) -> None:
    lots_of_history(runtime, 200)
    server = server_factory("503:3,drop:4")
    mirror = tmp_path / "mirror.db"
    _, err = finish(pull_process(server, runtime, mirror, "--limit", "50"))
    assert "HTTP 503" in err and "retrying" in err
    assert "IncompleteRead" in err or "cut short" in err or "Error" in err
    assert_mirror_matches(runtime, mirror)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_events_delivered_twice_change_nothing(
    runtime: Runtime, body: str, tmp_path: Path, server_factory: Callable[[str], Server]
) -> None:
    lots_of_history(runtime, 200)
    server = server_factory("replay:2")
    mirror = tmp_path / "mirror.db"
    out, _ = finish(pull_process(server, runtime, mirror, "--limit", "30"))
    duplicates = int(out.split("duplicates skipped ")[1].split(";")[0])
    assert duplicates > 0
    assert_mirror_matches(runtime, mirror)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        from certsvc.cli.main import cli

        cli(sys.argv[2:], prog_name="certsvc")
