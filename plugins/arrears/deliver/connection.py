"""A recipient's SFTP target from an Airflow-style connection in the environment.

`AIRFLOW_CONN_ARREARS_SFTP_<RECIPIENT>` holds a URI such as
`sftp://user:pass@host:22/~/inbox?key_file=/run/secrets/id_ed25519&known_hosts=/etc/arrears/known_hosts`
(Airflow reads the same variable as the connection `arrears_sftp_<recipient>`), or Airflow's JSON
form. Secrets therefore live in the environment, never in the repository. The server's host key
is verified against `known_hosts` (default ~/.ssh/known_hosts); `no_host_key_check=true` must be
asked for explicitly. The URI's path is absolute on the server (`/srv/drop` is that folder from the
server's root), except `/~/inbox`, which is `inbox` below the login folder. A dropped connection is
retried `retries` times (default 3) after `retry_delay` seconds (default 2), the delay doubling each
time: `...?retries=5&retry_delay=10`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from arrears.errors import ArrearsError


class SftpConnectionError(ArrearsError):
    """A configured SFTP connection that cannot be used as written."""


DEFAULT_RETRIES = 3
DEFAULT_RETRY_DELAY = 2.0


@dataclass(frozen=True)
class SftpTarget:
    """Where and how to push one recipient's files."""

    host: str
    port: int
    username: str
    password: str | None
    key_file: str | None
    known_hosts: str | None
    no_host_key_check: bool
    path: str
    retries: int = DEFAULT_RETRIES
    retry_delay: float = DEFAULT_RETRY_DELAY

    def display(self) -> str:
        """The target without secrets, for summaries and logs."""
        return f"sftp://{self.username}@{self.host}:{self.port}{self.path}"

    @property
    def remote_root(self) -> str:
        """The folder as the SFTP server reads it: absolute, or relative to the login folder for `/~/...`."""
        if self.path == "/~" or self.path.startswith("/~/"):
            return self.path[3:] or "."
        return self.path

    def explain_path(self) -> str:
        """How the server reads the configured path, for errors about a remote file or folder."""
        if self.remote_root.startswith("/"):
            relative = self.path.strip("/") or "inbox"
            return (
                f"{self.path} is absolute, from the server's root; for a folder below the login folder"
                f" of {self.username} write /~/{relative} in the connection URI"
            )
        return f"{self.path} is relative to the login folder of {self.username}"


def connection_variable(recipient: str) -> str:
    """The environment variable naming the recipient's connection."""
    return f"AIRFLOW_CONN_ARREARS_SFTP_{recipient.upper()}"


def _retry_settings(extra: Mapping[str, object], variable: str) -> tuple[int, float]:
    try:
        retries = int(str(extra.get("retries", DEFAULT_RETRIES)))
        delay = float(str(extra.get("retry_delay", DEFAULT_RETRY_DELAY)))
    except ValueError as err:
        raise SftpConnectionError(f"{variable}: retries must be an integer and retry_delay seconds: {err}") from err
    if retries < 0 or delay < 0:
        raise SftpConnectionError(f"{variable}: retries and retry_delay must not be negative")
    return retries, delay


def _from_json(text: str, variable: str) -> SftpTarget:
    try:
        raw = json.loads(text)
    except ValueError as err:
        raise SftpConnectionError(f"{variable}: not a URI or JSON connection: {err}") from err
    extra = raw.get("extra") or {}
    if isinstance(extra, str):
        extra = json.loads(extra or "{}")
    retries, retry_delay = _retry_settings(extra, variable)
    return SftpTarget(
        host=str(raw.get("host") or ""),
        port=int(raw.get("port") or 22),
        username=str(raw.get("login") or ""),
        password=raw.get("password"),
        key_file=extra.get("key_file"),
        known_hosts=extra.get("known_hosts"),
        no_host_key_check=str(extra.get("no_host_key_check", "false")).lower() == "true",
        path="/" + str(raw.get("schema") or extra.get("path") or "").strip("/"),
        retries=retries,
        retry_delay=retry_delay,
    )


def _from_uri(text: str, variable: str) -> SftpTarget:
    parts = urlsplit(text)
    if parts.scheme not in ("sftp", "ssh"):
        raise SftpConnectionError(f"{variable}: expected an sftp:// URI, got scheme {parts.scheme!r}")
    extra = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if "__extra__" in extra:  # Airflow's encoding of a JSON extra inside a URI
        extra |= json.loads(extra.pop("__extra__"))
    retries, retry_delay = _retry_settings(extra, variable)
    return SftpTarget(
        host=parts.hostname or "",
        port=parts.port or 22,
        username=unquote(parts.username or ""),
        password=unquote(parts.password) if parts.password else None,
        key_file=extra.get("key_file"),
        known_hosts=extra.get("known_hosts"),
        no_host_key_check=str(extra.get("no_host_key_check", "false")).lower() == "true",
        path="/" + unquote(parts.path).strip("/"),
        retries=retries,
        retry_delay=retry_delay,
    )


def sftp_target(recipient: str) -> SftpTarget | None:
    """The recipient's SFTP target, or None when no connection is configured (delivery skipped)."""
    variable = connection_variable(recipient)
    text = os.environ.get(variable, "").strip()
    if not text:
        return None
    target = _from_json(text, variable) if text.startswith("{") else _from_uri(text, variable)
    if not target.host or not target.username:
        raise SftpConnectionError(f"{variable}: host and user are required")
    if target.password is None and target.key_file is None:
        raise SftpConnectionError(f"{variable}: give a password or a key_file")
    return target
