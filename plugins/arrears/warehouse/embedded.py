"""The embedded default warehouse: a real PostgreSQL 16 from the `pgserver` wheel, under $ARREARS_HOME.

We use pgserver only for its binaries (and its helpers for running as root): its own
`get_server()` listens on a Unix socket, which GX's Postgres datasource rejects, and
stops the server when the Python process exits, while our server must outlive each CLI
command. So we run `pg_ctl` ourselves, listening on 127.0.0.1 on a port chosen once per
home and remembered in `port`. See docs/decisions/001-embedded-pgserver.md.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from arrears.errors import ArrearsError
from arrears.settings import Paths

HOST = "127.0.0.1"
SUPERUSER = "postgres"  # administers the server: creates roles, initialises the schema
ORPHAN_WAIT_SECONDS = 15  # how long a restart waits for the processes of a crashed server to exit
SOCKET_PATH_LIMIT = 107  # bytes of sun_path, less its terminating NUL
PIPELINE_USER = "arrears_pipeline"  # everything else connects as the pipeline role (docs/security.md)
DATABASE = "arrears"
# Tuned for a nightly batch on a small machine: we value throughput over crash-time
# durability of the last few milliseconds (fsync stays on; commits are still durable).
SERVER_OPTIONS = {
    "shared_buffers": "512MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "synchronous_commit": "off",
    "timezone": "UTC",
    "max_connections": "100",
    # A query whose client is gone (a killed export, build or task) stops within seconds instead of running
    # to its end: a long sort or FETCH notices the closed socket only when it next sends a row.
    "client_connection_check_interval": "5s",
}


def _pgserver():  # type: ignore[no-untyped-def]
    import pgserver._commands as commands  # deferred: imported only when the embedded server is used
    import pgserver.utils as utils

    # pgserver logs a 20-line dump of every failed command; we report one line with the server's reason.
    logging.getLogger("pgserver").setLevel(logging.CRITICAL)

    return commands, utils


def _system_user() -> str | None:
    """PostgreSQL refuses to run as root; pgserver's convention is a `pgserver` system user."""
    return "pgserver" if os.geteuid() == 0 else None


def _data_dir(paths: Paths) -> Path:
    return paths.warehouse_dir / "pgdata"


def _port_file(paths: Paths) -> Path:
    return paths.warehouse_dir / "port"


@contextmanager
def _lock(paths: Paths) -> Iterator[None]:
    """Serialise start/stop across processes sharing a home (parallel CLI calls, Airflow tasks)."""
    paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
    with open(paths.warehouse_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _port(paths: Paths) -> int:
    port_file = _port_file(paths)
    if port_file.exists():
        return int(port_file.read_text().strip())
    port = _free_port()
    port_file.write_text(f"{port}\n")
    return port


def url(paths: Paths) -> str:
    """Superuser libpq URL of the embedded warehouse (whether or not it is running): for administration."""
    return f"postgresql://{SUPERUSER}@{HOST}:{_port(paths)}/{DATABASE}"


def pipeline_url(paths: Paths) -> str:
    """libpq URL the pipeline uses: the least-privilege arrears_pipeline role (no superuser, no BYPASSRLS)."""
    return f"postgresql://{PIPELINE_USER}@{HOST}:{_port(paths)}/{DATABASE}"


def is_running(paths: Paths) -> bool:
    """True when the postmaster of this home answers on its port."""
    pgdata = _data_dir(paths)
    if not (pgdata / "postmaster.pid").exists():
        return False
    try:
        with socket.create_connection((HOST, _port(paths)), timeout=1):
            return True
    except OSError:
        return False


def _run(commands, name: str, args: list[str], pgdata: Path) -> str:  # type: ignore[no-untyped-def]
    try:
        return str(getattr(commands, name)(args, pgdata=pgdata, user=_system_user(), timeout=120))
    except subprocess.CalledProcessError as err:
        reason = _start_failure(pgdata) if name == "pg_ctl" else f"exit status {err.returncode}"
        raise ArrearsError(f"embedded warehouse: {name} failed: {reason} (log: {pgdata / 'log'})") from err


def _prepare_permissions(paths: Paths, commands, utils) -> None:  # type: ignore[no-untyped-def]
    user = _system_user()
    if user is None:
        return
    import pwd
    import stat

    utils.ensure_user_exists(user)
    pgdata = _data_dir(paths)
    utils.ensure_prefix_permissions(pgdata)
    utils.ensure_prefix_permissions(commands.POSTGRES_BIN_PATH)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    utils.ensure_folder_permissions(commands.POSTGRES_BIN_PATH, execute | read)
    utils.ensure_folder_permissions(commands.POSTGRES_BIN_PATH.parent / "lib", read)
    entry = pwd.getpwnam(user)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)


def exists(paths: Paths) -> bool:
    """True when this home has an initialised embedded warehouse (running or not)."""
    return (_data_dir(paths) / "PG_VERSION").exists()


def start(paths: Paths) -> str:
    """Start the embedded warehouse if it is not running (initialising it on first use); return its URL.

    The port is chosen once, when the warehouse is created, and kept: the URLs people save stay valid.
    """
    with _lock(paths):
        if is_running(paths):
            return url(paths)
        commands, utils = _pgserver()
        pgdata = _data_dir(paths)
        pgdata.mkdir(parents=True, exist_ok=True)
        _prepare_permissions(paths, commands, utils)
        if not exists(paths):
            _run(commands, "initdb", ["--auth=trust", "--encoding=UTF8", "--locale=C", "-U", SUPERUSER], pgdata)
            print(f"arrears: created a new embedded warehouse in {paths.warehouse_dir}", file=sys.stderr)
        port = _port(paths)
        if not _port_is_free(port):
            raise ArrearsError(
                f"embedded warehouse: its port {port} is taken by another program; stop that program, "
                f"or delete {_port_file(paths)} to pick a new port (the warehouse URL then changes)"
            )
        _remove_stale_pid_file(pgdata)
        options = " ".join(f"-c {key}={value}" for key, value in SERVER_OPTIONS.items())
        # A Unix socket's path is limited to 107 bytes; everything connects over TCP, so a home too
        # deep for one (a long $ARREARS_HOME, a test's temporary directory) just goes without.
        sockets = str(pgdata) if len(f"{pgdata}/.s.PGSQL.{port}") <= SOCKET_PATH_LIMIT else "''"
        _run(
            commands,
            "pg_ctl",
            ["-w", "-l", str(pgdata / "log"), "-o", f"-h {HOST} -p {port} -k {sockets} {options}", "start"],
            pgdata,
        )
        _ensure_database(port)
        return url(paths)


def _port_is_free(port: int) -> bool:
    """Can a server listen on this port? With SO_REUSEADDR, as PostgreSQL binds: a port left in TIME_WAIT
    by a crashed server counts as free; only a live listener makes it busy."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
            return True
        except OSError:
            return False


def _remove_stale_pid_file(pgdata: Path) -> None:
    """After a crash, postmaster.pid may name a PID that PostgreSQL takes for a live server and refuses to start:
    the killed postmaster left as a zombie (a container's init may never reap it), or the PID since given to
    another program. Such a file goes, once no postgres process of the crashed server still works in this data
    folder (they exit within seconds of their postmaster). A PID that is simply gone PostgreSQL handles itself,
    checking its old shared memory."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    name, state = _process(pid)
    if name is None or (name in ("postgres", "postmaster") and state != "Z"):
        return  # gone (PostgreSQL copes), or a live server: pg_ctl will say so
    deadline = time.monotonic() + ORPHAN_WAIT_SECONDS
    while _postgres_running_in(pgdata) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not _postgres_running_in(pgdata):
        for lock in [pid_file, *pgdata.glob(".s.PGSQL.*.lock")]:  # the socket's lock file names the same PID
            lock.unlink(missing_ok=True)


def _process(pid: int) -> tuple[str | None, str | None]:
    """(command name, state letter) of a process from /proc, (None, None) when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None, None
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    return name, stat[stat.rindex(")") + 2 :].split()[0]


def _postgres_running_in(pgdata: Path) -> bool:
    """Is any postgres process (postmaster or an orphaned backend) working in this data folder?"""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        name, state = _process(int(proc.name))
        if name != "postgres" or state == "Z":  # a zombie holds nothing any more
            continue
        try:
            if (proc / "cwd").resolve() == pgdata.resolve():
                return True
        except OSError:
            continue
    return False


def _start_failure(pgdata: Path) -> str:
    """The server's own reason, for a one-line error: its last FATAL/PANIC line with the messages of the same
    process just before it (e.g. `invalid value for parameter ...` before `configuration file ... contains errors`)."""
    try:
        lines = (pgdata / "log").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    fatal = [number for number, line in enumerate(lines) if re.search(r"\b(FATAL|PANIC):", line)]
    if not fatal:
        return "no reason in its log"
    # The lines logged with it: same timestamp and process, e.g. the setting that broke the configuration file.
    stamp_and_process = re.match(r"^(.*?\[\d+\])", lines[fatal[-1]])
    prefix = stamp_and_process.group(1) if stamp_and_process else lines[fatal[-1]]
    messages: list[str] = []
    for line in reversed(lines[max(fatal[-1] - 3, 0) : fatal[-1] + 1]):
        if not line.startswith(prefix):
            break
        messages.insert(0, re.sub(r"^.*?\b(LOG|ERROR|FATAL|PANIC|DETAIL|HINT):\s*", "", line))
    return "; ".join(messages)


def _ensure_database(port: int) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://{SUPERUSER}@{HOST}:{port}/postgres", autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone()
        if not exists:
            conn.execute(f'create database "{DATABASE}"')


def stop(paths: Paths) -> bool:
    """Stop the embedded warehouse; False when it was not running."""
    with _lock(paths):
        if not is_running(paths):
            return False
        commands, _ = _pgserver()
        _run(commands, "pg_ctl", ["-w", "-m", "fast", "stop"], _data_dir(paths))
        return True
