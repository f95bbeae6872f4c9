"""A real SFTP server (asyncssh) on 127.0.0.1 for the delivery tests, serving one folder as its root."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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


class _PasswordServer(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USER and password == PASSWORD


@contextmanager
def sftp_server(folder: Path) -> Iterator[SftpServer]:
    """Run the server in a background event loop for the duration of the block."""
    root = folder / "root"
    root.mkdir(parents=True, exist_ok=True)
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def chrooted(chan: asyncssh.SSHServerChannel) -> asyncssh.SFTPServer:
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
