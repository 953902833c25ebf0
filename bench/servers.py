"""Real servers on free loopback ports, for the benchmarks and the tests: the service as
`vnsearch serve` runs it (gunicorn with `search.web.gunicorn_conf`), and Debian's nginx with the
configuration `vnsearch nginx-config --standalone` prints, started the way the README says
(`nginx -p DIR -c FILE`). Each writes its output to files in its own folder, never to a pipe
nobody reads (a full pipe would stall the server under load).
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from search.web.nginx import ProxyConfig, render

ROOT = Path(__file__).resolve().parent.parent
#: Debian's nginx, or the one `VNSEARCH_NGINX` names.
NGINX = Path(os.environ.get("VNSEARCH_NGINX") or shutil.which("nginx") or "/usr/sbin/nginx")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    port: int
    proc: subprocess.Popen
    folder: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self, name: str) -> str:
        path = self.folder / name
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def request(
    port: int,
    path: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10,
    source: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request on a new connection: (status, headers with lower-case names, body).
    `source` is the loopback address to send from (127.0.0.0/8 is all this machine), which is
    how one process looks like several clients to a per-address limit."""
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _wait(port: int, proc: subprocess.Popen, what: str, log: Path, path: str = "/healthz", seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            request(port, path, timeout=5)
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise RuntimeError(f"{what} did not start:\n{tail}") from None
            time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def service(index_dir: Path, folder: Path, **env: str) -> Iterator[Server]:
    """`vnsearch serve` on a free port with 2 workers (unless `env` says otherwise); its
    access lines go to `folder/service.out`, gunicorn's log to `folder/service.err`."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    environ = dict(
        os.environ,
        VNSEARCH_HOST="127.0.0.1",
        VNSEARCH_PORT=str(port),
        VNSEARCH_WORKERS="2",
        VNSEARCH_INDEX_DIR=str(index_dir),
        HOME=str(folder),
    )
    environ.pop("XDG_RUNTIME_DIR", None)  # no control socket of gunicorn's in a shared place
    environ.update(env)
    with open(folder / "service.out", "ab") as out, open(folder / "service.err", "ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "search", "serve"],
            cwd=ROOT,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    _wait(port, proc, "the service", folder / "service.err")
    try:
        yield Server(port, proc, folder)
    finally:
        _stop(proc)


@contextlib.contextmanager
def nginx(config: ProxyConfig, folder: Path, port: int | None = None) -> Iterator[Server]:
    """nginx in the foreground with the standalone configuration for `config`, in `folder`
    (its access log in `folder/access.log`, errors in `folder/nginx.err`). `config.listen` is
    replaced by a free loopback port unless `port` is given."""
    if not NGINX.exists():
        raise FileNotFoundError(f"no nginx at {NGINX} (apt-get install nginx, or set VNSEARCH_NGINX)")
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    config = dataclasses.replace(config, listen=f"127.0.0.1:{port}")
    conf = folder / "nginx.conf"
    conf.write_text(render(config, standalone=True), encoding="utf-8")
    with open(folder / "nginx.out", "ab") as out, open(folder / "nginx.err", "ab") as err:
        proc = subprocess.Popen(
            [str(NGINX), "-p", str(folder), "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
    _wait(port, proc, "nginx", folder / "nginx.err", path="/widget.js")
    try:
        yield Server(port, proc, folder)
    finally:
        _stop(proc)
