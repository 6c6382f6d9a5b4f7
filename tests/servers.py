"""Throwaway servers for the tests that need real engines: a PostgreSQL cluster (Debian's ``postgresql``
package: initdb into a temp dir, pg_ctl on a free local port) and a Milvus Lite gRPC server
(``milvus-lite server``). Each is stopped when its ``with`` block ends. ``scripts/install_postgres.sh``
(run by scripts/test.sh) installs the PostgreSQL binaries; tests skip with the reason when they are absent."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The folder with initdb/pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name))
    return Path(dirs[-1]) if dirs and Path(dirs[-1], "initdb").exists() else None


def _as_user() -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the ``postgres`` user (the Debian package makes it)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--"]
    return ["su", "postgres", "-s", "/bin/sh", "-c"]        # pragma: no cover - no util-linux


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    pre = _as_user()
    if pre[-1:] == ["-c"]:                                  # su wants one shell string
        import shlex

        cmd = [shlex.join(cmd)]
    return subprocess.run(pre + cmd, check=True, capture_output=True, text=True, **kw)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A fresh PostgreSQL cluster on a free 127.0.0.1 port, trust auth; yields its URL."""
    bindir = postgres_bin()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install -y postgresql "
                                "(scripts/install_postgres.sh)")
    tmp = Path(tempfile.mkdtemp(prefix="rag-pg-"))
    data, sock = tmp / "data", tmp / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()
    try:
        _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
              "--locale=C.UTF-8", "--no-sync"])
        opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(tmp / "log"), "-w", "-t", "60", "start"])
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def milvus_lite_server(data_dir: Path) -> Iterator[str]:
    """``milvus-lite server`` (the gRPC server of PyPI milvus-lite) on a free port; yields its URI."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"milvus-lite server exited: {proc.stderr.read()[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            raise TimeoutError("milvus-lite server did not listen within 60 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
