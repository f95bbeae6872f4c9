"""`arrears deliver --date D`: push each recipient's exported files to its SFTP server, at most once.

The files of $ARREARS_HOME/exports/<recipient>/<D>/ are sent in manifest order, data files first
and `_manifest.json` last (so the recipient, like a local reader, may trust a folder with a
manifest). Each is uploaded under a temporary name and renamed on the server. The ledger
audit.deliveries skips a file+SHA-256 already delivered; a file whose content changed for the same
date is sent again and recorded as a re-delivery.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from arrears.deliver.connection import SftpTarget, connection_variable, sftp_target
from arrears.deliver.ledger import delivered_versions, record_delivery
from arrears.errors import ArrearsError
from arrears.export import export_folder, recipient_names
from arrears.export.files import sha256_of
from arrears.export.manifest import MANIFEST_NAME, read_manifest

__all__ = ["Delivered", "deliver_all", "deliver_recipient"]


class DeliveryFailed(ArrearsError):
    """The SFTP server could not be reached or refused a file; the ledger records only what arrived."""


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
    if manifest is None:
        raise DeliveryFailed(f"nothing to deliver in {folder}: no completed export (run `arrears export` first)")
    return [folder / item["file"] for item in manifest["files"]] + [folder / MANIFEST_NAME]


async def _upload(target: SftpTarget, remote_folder: str, uploads: list[tuple[Path, str]]) -> None:
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
        await sftp.makedirs(remote_folder, exist_ok=True)
        for local, name in uploads:
            final = f"{remote_folder}/{name}"
            temporary = f"{remote_folder}/.{name}.uploading"
            await sftp.put(str(local), temporary)
            # posix-rename replaces atomically; plain SFTP rename refuses an existing target.
            await sftp.posix_rename(temporary, final)


def deliver_recipient(business_date: dt.date, recipient: str) -> Delivered:
    """Deliver one recipient's export of a date; skipped with a note when no connection is configured."""
    target = sftp_target(recipient)
    if target is None:
        return Delivered(
            recipient, business_date, None, note=f"no SFTP connection: set {connection_variable(recipient)}"
        )
    files = _files_to_send(export_folder(recipient, business_date))
    already = delivered_versions(recipient, business_date)
    plan = [(path, sha256_of(path)) for path in files]
    pending = [(path, digest) for path, digest in plan if digest not in already.get(path.name, set())]
    skipped = [path.name for path, digest in plan if digest in already.get(path.name, set())]
    remote_folder = f"{target.path.rstrip('/')}/{business_date.isoformat()}"
    if pending:
        try:
            asyncio.run(_upload(target, remote_folder, [(path, path.name) for path, _ in pending]))
        except (OSError, Exception) as err:  # asyncssh raises its own hierarchy; any failure is this delivery's
            raise DeliveryFailed(f"deliver {recipient} {business_date} to {target.display()} failed: {err}") from err
    redelivered = []
    for path, digest in pending:
        is_redelivery = path.name in already
        record_delivery(recipient, business_date, path.name, digest, target.display(), is_redelivery)
        if is_redelivery:
            redelivered.append(path.name)
    return Delivered(
        recipient,
        business_date,
        target.display(),
        sent=[path.name for path, _ in pending],
        redelivered=redelivered,
        already_delivered=skipped,
    )


def deliver_all(business_date: dt.date) -> list[Delivered]:
    """Deliver every recipient that has a connection and a completed export for the date."""
    results = []
    for name in recipient_names():
        if sftp_target(name) is None:
            results.append(deliver_recipient(business_date, name))
        elif read_manifest(export_folder(name, business_date)) is None:
            results.append(Delivered(name, business_date, None, note="no completed export for the date"))
        else:
            results.append(deliver_recipient(business_date, name))
    return results
