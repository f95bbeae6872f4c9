"""`arrears deliver --date D`: push each recipient's exported files to its SFTP server, at most once.

The files of $ARREARS_HOME/exports/<recipient>/<D>/ are sent in manifest order, data files first
and `_manifest.json` last (so the recipient, like a local reader, may trust a folder with a
manifest). Each is uploaded under a hidden temporary name (`.<file>.uploading`) and renamed on the
server only once complete, so the recipient never sees a partial file. A connection that drops
(mid-upload or before) is retried on a new connection with back-off (`retries`, `retry_delay` in the
connection's extras), resuming after the last file renamed; authentication and host-key failures are
not retried. The ledger audit.deliveries records each file that arrived, once, and skips a
file+SHA-256 already delivered; a file whose content changed for the same date is sent again and
recorded as a re-delivery. A retracted date's folder holds only `_RETRACTED.json`: it is pushed to
recipients that had received files of the date, and files sent before it count as never sent.
Every recipient is tried: one that fails is reported (NotDelivered) and the others are still delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from arrears.deliver.connection import SftpTarget, connection_variable, sftp_target
from arrears.deliver.ledger import NOTICE_NAME, delivered_versions, record_delivery
from arrears.errors import ArrearsError
from arrears.export import export_folder, recipient_names
from arrears.export.files import sha256_of
from arrears.export.manifest import MANIFEST_NAME, read_manifest

log = logging.getLogger(__name__)

__all__ = ["Delivered", "NotDelivered", "deliver_all", "deliver_each", "deliver_recipient"]


class DeliveryFailed(ArrearsError):
    """The SFTP server could not be reached or refused a file; the ledger records only what arrived."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail or message  # the reason and the target, for a line that already names the recipient


class RemotePathError(Exception):
    """The server refused a remote file or folder (no such folder, permission denied...): names the path."""


@dataclass(frozen=True)
class Delivered:
    """What one recipient's delivery did for one date."""

    recipient: str
    business_date: dt.date
    target: str | None
    sent: list[str] = field(default_factory=list)
    redelivered: list[str] = field(default_factory=list)
    already_delivered: list[str] = field(default_factory=list)
    note: str = ""

    def summary(self) -> str:
        """One line per recipient."""
        head = f"deliver {self.recipient} {self.business_date}:"
        if self.target is None:
            return f"{head} skipped ({self.note})"
        return (
            f"{head} {len(self.sent)} sent"
            + (f" ({len(self.redelivered)} re-delivered: {', '.join(self.redelivered)})" if self.redelivered else "")
            + f", {len(self.already_delivered)} already delivered -> {self.target}"
        )


def _files_to_send(folder: Path) -> list[Path]:
    manifest = read_manifest(folder)
    if manifest is None and (folder / NOTICE_NAME).is_file():
        return [folder / NOTICE_NAME]  # a retracted date: only the notice goes out
    if manifest is None:
        raise DeliveryFailed(f"nothing to deliver in {folder}: no completed export (run `arrears export` first)")
    return [folder / item["file"] for item in manifest["files"]] + [folder / MANIFEST_NAME]


_NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.EHOSTDOWN,
}


def _is_transient(err: BaseException) -> bool:
    """A dropped or unreachable connection (worth a new attempt), not a refusal or a local fault."""
    import asyncssh

    if isinstance(err, asyncssh.ConnectionLost | asyncssh.SFTPConnectionLost | asyncssh.SFTPNoConnection):
        return True
    if isinstance(err, ConnectionError | TimeoutError):
        return True
    return isinstance(err, OSError) and err.errno in _NETWORK_ERRNOS


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    if isinstance(err, RemotePathError):
        return text
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


async def _upload(target: SftpTarget, remote_folder: str, uploads: list[tuple[Path, str]], done: list[str]) -> None:
    """Upload each file not yet in `done` under a temporary name, rename it, then append it to `done`."""
    import asyncssh

    options: dict[str, object] = {
        "username": target.username,
        "password": target.password,
        "client_keys": [target.key_file] if target.key_file else None,
        "known_hosts": None if target.no_host_key_check else (target.known_hosts or ()),
    }
    if target.known_hosts is None and not target.no_host_key_check:
        options.pop("known_hosts")  # asyncssh's default: ~/.ssh/known_hosts
    async with asyncssh.connect(target.host, target.port, **options) as conn, conn.start_sftp_client() as sftp:
        with _naming_the_remote_path(target, f"folder {remote_folder}"):
            await sftp.makedirs(remote_folder, exist_ok=True)
        for local, name in uploads:
            if name in done:  # renamed on the server by an earlier attempt
                continue
            final = f"{remote_folder}/{name}"
            temporary = f"{remote_folder}/.{name}.uploading"
            with _naming_the_remote_path(target, f"file {final}"):
                await sftp.put(str(local), temporary)  # truncates what a dropped attempt left there
                # posix-rename replaces atomically; plain SFTP rename refuses an existing target.
                await sftp.posix_rename(temporary, final)
            done.append(name)


@contextlib.contextmanager
def _naming_the_remote_path(target: SftpTarget, what: str) -> Iterator[None]:
    """Turn the server's refusal of a path (SFTPNoSuchFile...) into an error naming it and how it is read."""
    import asyncssh

    try:
        yield
    except asyncssh.SFTPError as err:
        if _is_transient(err):
            raise
        raise RemotePathError(
            f"remote {what}: {type(err).__name__}: {' '.join(str(err).split())} ({target.explain_path()})"
        ) from err


def _upload_with_retries(target: SftpTarget, remote_folder: str, uploads: list[tuple[Path, str]]) -> list[str]:
    """Upload, retrying a dropped connection; the names renamed on the server, even when it finally fails.

    Raises _Failed (carrying those names) after the last attempt or on a failure that is not transient.
    """
    done: list[str] = []
    attempts = target.retries + 1
    for attempt in range(1, attempts + 1):
        try:
            asyncio.run(_upload(target, remote_folder, uploads, done))
            return done
        except Exception as err:  # asyncssh raises its own hierarchy; any failure is this delivery's
            if not _is_transient(err):
                raise _Failed(done, _one_line(err)) from err
            if attempt == attempts:
                tried = f"on all {attempts} attempts" if attempts > 1 else "(retries=0)"
                raise _Failed(done, f"connection dropped {tried}, last: {_one_line(err)}") from err
            delay = target.retry_delay * 2 ** (attempt - 1)
            print(
                f"deliver: {target.display()}: {_one_line(err)}; attempt {attempt + 1} of {attempts} in {delay:g}s",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")


class _Failed(Exception):
    def __init__(self, done: list[str], reason: str) -> None:
        super().__init__(reason)
        self.done = done
        self.reason = reason


def deliver_recipient(business_date: dt.date, recipient: str) -> Delivered:
    """Deliver one recipient's export of a date; skipped with a note when no connection is configured."""
    target = sftp_target(recipient)
    if target is None:
        return Delivered(
            recipient, business_date, None, note=f"no SFTP connection: set {connection_variable(recipient)}"
        )
    files = _files_to_send(export_folder(recipient, business_date))
    already = delivered_versions(recipient, business_date)
    if files == [export_folder(recipient, business_date) / NOTICE_NAME] and not already:
        return Delivered(recipient, business_date, None, note="retracted before any file was delivered")
    plan = [(path, sha256_of(path)) for path in files]
    pending = [(path, digest) for path, digest in plan if digest not in already.get(path.name, set())]
    skipped = [path.name for path, digest in plan if digest in already.get(path.name, set())]
    remote_folder = f"{target.remote_root.rstrip('/')}/{business_date.isoformat()}"
    failure: _Failed | None = None
    arrived: list[str] = []
    if pending:
        try:
            arrived = _upload_with_retries(target, remote_folder, [(path, path.name) for path, _ in pending])
        except _Failed as err:
            failure, arrived = err, err.done
    redelivered = []
    for path, digest in pending:
        if path.name not in arrived:
            continue
        is_redelivery = path.name in already
        record_delivery(recipient, business_date, path.name, digest, target.display(), is_redelivery)
        if is_redelivery:
            redelivered.append(path.name)
    if failure is not None:
        message = f"deliver {recipient} {business_date} to {target.display()} failed: {failure.reason}"
        raise DeliveryFailed(message, detail=f"{failure.reason} -> {target.display()}") from failure.__cause__
    return Delivered(
        recipient,
        business_date,
        target.display(),
        sent=[path.name for path, _ in pending],
        redelivered=redelivered,
        already_delivered=skipped,
    )


@dataclass(frozen=True)
class NotDelivered:
    """A recipient whose delivery failed (what did arrive is in the ledger), and why."""

    recipient: str
    business_date: dt.date
    error: Exception
    exit_code: int = DeliveryFailed.exit_code

    @property
    def reason(self) -> str:
        """The error as one line."""
        if isinstance(self.error, DeliveryFailed):
            return self.error.detail
        return str(self.error) if isinstance(self.error, ArrearsError) else _one_line(self.error)

    def summary(self) -> str:
        """One line per recipient."""
        return f"deliver {self.recipient} {self.business_date}: failed: {self.reason}"


def _retracted(recipient: str, business_date: dt.date) -> bool:
    return (export_folder(recipient, business_date) / NOTICE_NAME).is_file()


def _deliver_if_exported(business_date: dt.date, name: str) -> Delivered:
    exported = read_manifest(export_folder(name, business_date)) is not None or _retracted(name, business_date)
    if sftp_target(name) is not None and not exported:
        return Delivered(name, business_date, None, note="no completed export for the date")
    return deliver_recipient(business_date, name)


def deliver_each(business_date: dt.date) -> list[Delivered | NotDelivered]:
    """Try every recipient that has a connection and a completed export; a failure does not stop the others."""
    results: list[Delivered | NotDelivered] = []
    for name in recipient_names():
        try:
            results.append(_deliver_if_exported(business_date, name))
        except (ArrearsError, OSError) as err:  # refusals, bad connection settings, an unreadable export, the ledger
            results.append(NotDelivered(name, business_date, err))
        except Exception as err:  # a bug: still try the others, and keep its traceback for the log
            log.exception("deliver %s %s failed", name, business_date)
            results.append(NotDelivered(name, business_date, err))
    return results


def deliver_all(business_date: dt.date) -> list[Delivered]:
    """Deliver every recipient (each tried); raise DeliveryFailed naming the ones that failed, if any."""
    results = deliver_each(business_date)
    failed = [item.summary() for item in results if isinstance(item, NotDelivered)]
    if failed:
        raise DeliveryFailed(" | ".join(failed))
    return [item for item in results if isinstance(item, Delivered)]
