"""`arrears retract --date D --reason "..."`: take back a wrongly published date.

In each recipient's export folder of the date, the manifest is moved first (so the folder stops
being a complete export at once: readers and `arrears deliver` trust only a folder with a
manifest), then the data files, into the hidden `.retracted/<UTC time>/` inside the same folder:
nothing is deleted (the evidence stays, and retention purges it with the date's folder). A
`_RETRACTED.json` notice takes their place; the next `arrears deliver` pushes it to recipients that
had received the files. audit.night_status says 'retracted' with the reason, and every export of
the date is refused until a fresh check run passes every suite. Running it again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arrears.checks.night_status import RETRACTED, mark_retracted, night_mark
from arrears.deliver.ledger import NOTICE_NAME
from arrears.errors import ArrearsError
from arrears.export import export_folder
from arrears.export.files import write_atomically
from arrears.export.manifest import MANIFEST_NAME, read_manifest
from arrears.settings import paths
from arrears.warehouse import connect

RETRACTED_DIR = ".retracted"


@dataclass(frozen=True)
class Retraction:
    """What `arrears retract` did for one date."""

    business_date: dt.date
    reason: str
    withdrawn: dict[str, list[str]]  # recipient -> files moved away this time
    already: bool  # nothing left to withdraw and the night was already marked retracted

    def summary(self) -> str:
        """One line per recipient folder withdrawn, or one line saying nothing changed."""
        if self.already:
            return f"retract {self.business_date}: already retracted ({self.reason}); nothing changed"
        lines = [f"retract {self.business_date}: {len(self.withdrawn)} recipient folder(s) withdrawn ({self.reason})"]
        lines += [
            f"  {recipient}: {', '.join(files)} -> {RETRACTED_DIR}/ ; {NOTICE_NAME} left for the next deliver"
            for recipient, files in self.withdrawn.items()
        ]
        return "\n".join(lines)


def _published_recipients(business_date: dt.date) -> list[str]:
    """Recipients with a folder for the date under exports/, or a file recorded in audit.exports."""
    with connect() as conn:
        recorded = {
            row[0]
            for row in conn.execute("select recipient from audit.exports where business_date = %s", (business_date,))
        }
    exports = paths().exports
    on_disk = (
        {path.name for path in exports.iterdir() if (path / business_date.isoformat()).is_dir()}
        if exports.is_dir()
        else set()
    )
    return sorted(recorded | on_disk)


def _visible_files(folder: Path) -> list[Path]:
    """The files a recipient could pick up: everything but hidden names and the notice; manifest first."""
    if not folder.is_dir():
        return []
    files = [path for path in folder.iterdir() if path.is_file() and not path.name.startswith(".")]
    files = [path for path in files if path.name != NOTICE_NAME]
    return sorted(files, key=lambda path: (path.name != MANIFEST_NAME, path.name))


def _notice(business_date: dt.date, recipient: str, reason: str, when: str, manifest: dict[str, Any] | None) -> bytes:
    document = {
        "status": "retracted",
        "recipient": recipient,
        "business_date": business_date.isoformat(),
        "reason": reason,
        "retracted_at": when,
        # What the recipient must discard: the files of this manifest (by SHA-256) and the run that cleared them.
        "withdrawn_files": manifest["files"] if manifest else [],
        "withdrawn_dq_run_id": manifest.get("dq_run_id") if manifest else None,
        "republished_when": "a later _manifest.json with another dq_run_id replaces this notice",
    }
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _withdraw(folder: Path, business_date: dt.date, recipient: str, reason: str, when: str) -> list[str]:
    """Move the folder's visible files into .retracted/<when>/ (manifest first), then write the notice."""
    files = _visible_files(folder)
    if not files:
        return []
    manifest = read_manifest(folder)
    evidence = folder / RETRACTED_DIR / when
    evidence.mkdir(parents=True, exist_ok=True)
    for path in files:
        os.replace(path, evidence / path.name)
    notice = _notice(business_date, recipient, reason, when, manifest)
    (evidence / NOTICE_NAME).write_bytes(notice)
    write_atomically(folder / NOTICE_NAME, notice)
    return [path.name for path in files]


def retract(business_date: dt.date, reason: str) -> Retraction:
    """Withdraw every recipient's files of the date and mark the night retracted (idempotent)."""
    reason = " ".join(reason.split())
    if not reason:
        raise ArrearsError("retract needs a --reason saying why the date is taken back")
    recipients = _published_recipients(business_date)
    mark = night_mark(business_date)
    if not recipients and (mark is None or mark.status != RETRACTED):
        raise ArrearsError(
            f"nothing to retract for {business_date}: no export was published for that date"
            " (no folder under exports/ and no file in audit.exports)"
        )
    when = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    withdrawn: dict[str, list[str]] = {}
    for recipient in recipients:
        moved = _withdraw(export_folder(recipient, business_date), business_date, recipient, reason, when)
        if moved:
            withdrawn[recipient] = moved
    if not withdrawn and mark is not None and mark.status == RETRACTED:
        return Retraction(business_date, mark.detail, {}, already=True)
    with connect() as conn:
        mark_retracted(conn, business_date, reason)
    return Retraction(business_date, reason, withdrawn, already=False)
