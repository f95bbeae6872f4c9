"""A real SFTP server (asyncssh) on 127.0.0.1 for the delivery tests, serving one folder as its root.

`sftp_server(folder, drop=DropUpload(...))` makes it a faulty server: after a given number of bytes of
a matching file have been written, it writes just those bytes to disk and aborts the SSH connection
(the TCP socket closes under the client, as when a server or a firewall drops it mid-upload).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

USER = "collector"
PASSWORD = "s3cret-for-tests-only"


@dataclass(frozen=True)
class SftpServer:
    """A running server: where it listens, its root folder, and a known_hosts file trusting it."""

    port: int
    root: Path
    known_hosts: Path

    def uri(self, path: str = "/inbox") -> str:
        """An Airflow-style connection URI for this server, verifying its host key."""
        return f"sftp://{USER}:{PASSWORD}@127.0.0.1:{self.port}{path}?known_hosts={self.known_hosts}"


@dataclass
class DropUpload:
    """Abort the connection once `after_bytes` of a file whose remote path contains `file` were written.

    `times` is how many connections to drop (None: every one); `drops` counts the drops done so far.
    """

    file: str
    after_bytes: int
    times: int | None = 1
    drops: int = 0
    partial_sizes: list[int] = field(default_factory=list)

    def should_drop(self, path: bytes, end: int) -> bool:
        if self.file.encode() not in path or end <= self.after_bytes:
            return False
        return self.times is None or self.drops < self.times


class _DroppingSFTPServer(asyncssh.SFTPServer):
    """The stock chrooted server, except that it drops the connection mid-upload as its plan says."""

    def __init__(self, chan: asyncssh.SSHServerChannel, chroot: bytes, plan: DropUpload) -> None:
        super().__init__(chan, chroot=chroot)
        self._plan = plan
        self._paths: dict[int, bytes] = {}

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> Any:
        file_obj = super().open(path, pflags, attrs)
        self._paths[id(file_obj)] = path
        return file_obj

    def write(self, file_obj: Any, offset: int, data: bytes) -> Any:
        path = self._paths.get(id(file_obj), b"")
        if not self._plan.should_drop(path, offset + len(data)):
            return super().write(file_obj, offset, data)
        keep = max(0, self._plan.after_bytes - offset)
        super().write(file_obj, offset, data[:keep])
        file_obj.flush()  # the partial bytes really are on the server's disk
        self._plan.drops += 1
        self._plan.partial_sizes.append(offset + keep)
        self.connection.abort()
        raise asyncssh.SFTPFailure("connection dropped by the test server")


class _PasswordServer(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USER and password == PASSWORD


@contextmanager
def sftp_server(folder: Path, drop: DropUpload | None = None) -> Iterator[SftpServer]:
    """Run the server in a background event loop for the duration of the block (faulty if `drop` is given)."""
    root = folder / "root"
    root.mkdir(parents=True, exist_ok=True)
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def chrooted(chan: asyncssh.SSHServerChannel) -> asyncssh.SFTPServer:
        if drop is not None:
            return _DroppingSFTPServer(chan, str(root).encode(), drop)
        return asyncssh.SFTPServer(chan, chroot=str(root).encode())

    async def start() -> asyncssh.SSHAcceptor:
        return await asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[host_key], server_factory=_PasswordServer, sftp_factory=chrooted
        )

    acceptor = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    port = acceptor.sockets[0].getsockname()[1]
    known_hosts = folder / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode().strip()}\n", encoding="utf-8")
    try:
        yield SftpServer(port=port, root=root, known_hosts=known_hosts)
    finally:
        acceptor.close()
        asyncio.run_coroutine_threadsafe(acceptor.wait_closed(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
