"""A throwaway PostgreSQL server for the audit trail's tests (issue 18).

Debian's ``postgresql`` package (``make test`` installs it): ``initdb`` and ``pg_ctl``
from /usr/lib/postgresql/<N>/bin or PATH, on 127.0.0.1 at a free port, with its data
directory in a fresh temporary folder. PostgreSQL refuses to run as root, so when the
tests run as root the server runs as ``nobody`` (``runuser``), in a folder it owns.
Trust authentication is safe here: 127.0.0.1 only, synthetic data, gone after the session.
The tests never skip for want of a server: a missing package fails them, naming the fix.
"""

from __future__ import annotations

import gc
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from serving.client import free_port

SUPERUSER = "svrisk"
UNPRIVILEGED_USER = "nobody"
ERR_NO_POSTGRES = (
    "PostgreSQL's initdb and pg_ctl were found neither in /usr/lib/postgresql/*/bin nor on PATH: "
    "run `make postgresql` (apt-get install -y postgresql)"
)


def postgres_bin() -> Path:
    """The folder holding initdb and pg_ctl: Debian's newest, else PATH's."""
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if debian:
        return Path(debian[-1]).parent
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    raise RuntimeError(ERR_NO_POSTGRES)


class PostgresServer:
    """Start with :meth:`start`, stop with :meth:`stop` (or use it as a context manager)."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="svrisk-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", UNPRIVILEGED_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed:\n{done.stdout}\n{done.stderr}\n{log}")

    def start(self) -> PostgresServer:
        if self.as_root:
            user = pwd.getpwnam(UNPRIVILEGED_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale")
        # Unix socket in the data folder (the default /var/run/postgresql belongs to the package's user);
        # fsync off: a test server's durability is not under test, its speed is.
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.data} "
                   "-c fsync=off -c max_connections=200")  # fmt: skip
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"trail_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres",
                             autocommit=True) as conn:  # fmt: skip
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server per test session (per xdist worker)."""
    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """An empty database on the session's server, for one test.

    Engines a test leaves in a reference cycle are collected here, not at some later
    test's moment: their pooled psycopg connections warn (ResourceWarning) when
    collected open, which `filterwarnings = error` would pin on whichever test runs then.
    """
    yield postgres_server.new_database()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture(params=["sqlite", "postgresql"])
def trail_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty audit database on each back end: the same behaviour tests run on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    return request.getfixturevalue("postgres_url")
