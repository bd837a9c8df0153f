"""Run the service as a subprocess and talk to it: used by `svrisk serve --example`,
the benchmark and the tests, so all three start and stop the server the same way.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

SERVICE_IMPORT = "serving.service:SvriskService"
READY_PATH = "/readyz"
# glibc gives every thread that allocates its own arena (up to 8 a core), and a worker's
# thread pool left freed memory spread over many of them: workers grew 10-15% in the
# 5-minute load benchmark. Two arenas (also set in bentofile.yaml) kept them flat
# (docs/benchmarks.md, "serve_load").
MALLOC_ARENAS = "2"
ERR_NOT_READY = "the service did not become ready within {seconds:.0f} s; its log:\n{log}"
ERR_EXITED = "the service exited with code {code} before it was ready; its log:\n{log}"


def project_root() -> Path:
    """The folder holding the ``serving`` package (BentoML's working directory)."""
    return Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bentoml_executable() -> str:
    """The ``bentoml`` command of this environment."""
    return str(Path(sys.executable).with_name("bentoml"))


def serve_command(port: int, host: str = "127.0.0.1") -> list[str]:
    return [
        bentoml_executable(), "serve", SERVICE_IMPORT,
        "--host", host, "--port", str(port), "--working-dir", str(project_root()),
    ]  # fmt: skip


def workers_env(workers: int, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The worker processes' environment: BentoML's override for their number, and glibc's
    cap on malloc arenas (:data:`MALLOC_ARENAS`; a MALLOC_ARENA_MAX in ``environ`` wins)."""
    environ = os.environ if environ is None else environ
    return {
        "BENTOML_CONFIG_OPTIONS": f"services.svrisk.workers={workers}",
        "MALLOC_ARENA_MAX": environ.get("MALLOC_ARENA_MAX", MALLOC_ARENAS),
    }


class ServerProcess:
    """``bentoml serve`` on 127.0.0.1 in its own process group; a context manager.

    Parameters
    ----------
    env : dict
        Extra environment (keys, model version, audit database, MLflow URIs).
    port : int, optional
        Free port picked when omitted.
    workers : int
        BentoML worker processes.
    log_path : Path, optional
        Where the server's stdout and stderr go (a temporary file when omitted).
    ready_timeout : float
        Seconds to wait for ``/readyz``.
    """

    def __init__(
        self,
        env: dict[str, str],
        port: int | None = None,
        workers: int = 1,
        log_path: Path | None = None,
        ready_timeout: float = 120.0,
    ) -> None:
        self.env = env
        self.port = port
        self.workers = workers
        self.log_path = log_path
        self.ready_timeout = ready_timeout

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port_}"

    def start(self) -> ServerProcess:
        import tempfile

        self.port_ = self.port or free_port()
        if self.log_path is None:
            handle, name = tempfile.mkstemp(prefix="svrisk-serve-", suffix=".log")
            os.close(handle)
            self.log_path = Path(name)
        self._log: IO[bytes] = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, **workers_env(self.workers), **self.env}
        self.process_ = subprocess.Popen(
            serve_command(self.port_),
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group: stop() ends the workers too
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            code = self.process_.poll()
            if code is not None:
                raise RuntimeError(ERR_EXITED.format(code=code, log=self.log_text()))
            try:
                if httpx.get(self.url + READY_PATH, timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        raise RuntimeError(ERR_NOT_READY.format(seconds=self.ready_timeout, log=self.log_text()))

    def log_text(self) -> str:
        self._log.flush()
        return Path(self.log_path).read_text(errors="replace")

    def stop(self, timeout: float = 20.0) -> None:
        process = self.process_
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=timeout)
        self._log.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def render_scored_case(scored: dict[str, Any], console: Any) -> None:
    """Print a scored, explained case readably with rich (the /score answer's own words)."""
    from rich.panel import Panel
    from rich.table import Table

    from runtime.risk_language import format_points

    head = (
        f"[bold]person[/] {scored['person_id']}   [bold]as of[/] {scored['as_of']}\n"
        f"[bold]probability[/] {scored['probability']:.2%}: {scored['absolute_risk']['sentence']}\n"
        f"{scored['band_sentence']}\n"
        f"model version {scored['model_version']}   audit_id {scored['audit_id']}"
    )
    console.print(Panel(head, title="svrisk score", expand=False))
    explanation = scored["explanation"]
    for title, key, style in (
        ("Factors raising the score", "raising", "red"),
        ("Factors lowering the score", "lowering", "green"),
        ("Factors that support could address", "support_could_address", "red"),
    ):
        table = Table(title=title, title_justify="left")
        table.add_column("factor")
        table.add_column("change", justify="right", style=style)
        for group in explanation[key]:
            table.add_row(group["sentence"], format_points(group["contribution"]))
        if not explanation[key]:
            table.add_row("(none)", "")
        console.print(table)
    console.print(explanation["other_factors"])
    console.print(f"Typical case: {explanation['base_value']:.2%}")
    console.print(f"[bold]{scored['notice']}[/]")
