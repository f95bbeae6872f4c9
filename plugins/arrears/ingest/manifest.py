"""The manifest rules of a delivery: checked as a whole before anything loads.

A delivery is accepted only when `_manifest.json` is present, names this folder's business date,
lists exactly the files in the folder (each a contract entity's file, inside the folder), and every
file's SHA-256 and row count agree. Any violation rejects the whole delivery with one line naming
the file and the mismatch.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from arrears.contract import Entity, load_contract
from arrears.errors import DeliveryRejected
from arrears.ingest.files import (
    DeliveredFile,
    RecordCounter,
    csv_header,
    csv_records,
    file_format,
    file_sha256,
    parquet_header,
    parquet_rows,
)

MANIFEST_NAME = "_manifest.json"


@dataclass(frozen=True)
class ManifestFile:
    """One file the manifest lists."""

    entity: str
    file: str
    rows: int
    sha256: str
    path: Path
    # Set by validation for a CSV file: whether its bytes (those of `sha256`) hold a stray quote.
    # The loader, which re-checks the SHA-256 as it reads, then need not scan the quotes again.
    stray_quote: bool | None = None

    @property
    def format(self) -> str:
        return file_format(self.file) or ""


@dataclass(frozen=True)
class Manifest:
    """A delivery's manifest: its business date and its files by entity (absent entities: no changes)."""

    business_date: dt.date
    folder: Path
    source_system: str
    files: dict[str, ManifestFile]
    document: dict[str, object]

    @property
    def entities(self) -> list[str]:
        """Entities delivered, in contract order (the order they load in)."""
        return [name for name in load_contract().entities if name in self.files]


def delivery_folder(business_date: dt.date, landing_root: Path) -> Path:
    """`<landing_root>/<YYYY-MM-DD>/`."""
    return landing_root / business_date.isoformat()


def manifest_path(business_date: dt.date, landing_root: Path) -> Path:
    """Where the manifest of a business date's delivery appears (written last by the source)."""
    return delivery_folder(business_date, landing_root) / MANIFEST_NAME


def _reject(where: str, problem: str) -> DeliveryRejected:
    return DeliveryRejected(f"{where}: {problem}")


def read_manifest(business_date: dt.date, landing_root: Path) -> Manifest:
    """Parse the manifest and check its structure against the folder (no file content is read)."""
    folder = delivery_folder(business_date, landing_root)
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise _reject(str(path), "no manifest: the delivery is missing or incomplete")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _reject(str(path), f"not valid JSON ({err})") from None
    if not isinstance(document, dict) or not isinstance(document.get("files"), list):
        raise _reject(str(path), 'not a manifest object with a "files" list')
    declared = str(document.get("business_date", ""))
    if declared != business_date.isoformat():
        raise _reject(str(path), f"business_date {declared!r} disagrees with the folder {folder.name}")
    files: dict[str, ManifestFile] = {}
    for number, entry in enumerate(document["files"], start=1):
        listed = _manifest_file(entry, number, folder, path)
        if listed.entity in files:
            raise _reject(listed.file, f"entity {listed.entity} is listed twice in the manifest")
        files[listed.entity] = listed
    listed_names = {listed.file for listed in files.values()}
    for present in sorted(folder.iterdir()):
        if present.name != MANIFEST_NAME and present.name not in listed_names:
            raise _reject(present.name, "present in the delivery folder but not listed in the manifest")
    return Manifest(
        business_date=business_date,
        folder=folder,
        source_system=str(document.get("source_system", "")),
        files=files,
        document=document,
    )


def _manifest_file(entry: object, number: int, folder: Path, manifest: Path) -> ManifestFile:
    if not isinstance(entry, dict):
        raise _reject(str(manifest), f"files[{number}] is not an object")
    name = str(entry.get("file", ""))
    entity = str(entry.get("entity", ""))
    # File names come only from the contract: a bare name, inside the folder, named for its entity.
    if not name or "/" in name or "\\" in name or name in (".", "..") or Path(name).is_absolute():
        raise _reject(name or f"files[{number}]", "file path is not a plain name inside the delivery folder")
    if (folder / name).resolve().parent != folder.resolve():
        raise _reject(name, "file path leaves the delivery folder")
    contract = load_contract()
    if entity not in contract.entities:
        raise _reject(name, f"entity {entity!r} is not in the landing contract")
    suffix = file_format(name)
    if suffix is None or name != f"{entity}{suffix}":
        raise _reject(name, f"file name must be {entity}.csv, {entity}.csv.gz or {entity}.parquet")
    try:
        rows = int(entry["rows"])
        sha256 = str(entry["sha256"]).lower()
    except (KeyError, TypeError, ValueError):
        raise _reject(name, 'manifest entry needs "rows" (a number) and "sha256"') from None
    path = folder / name
    if not path.is_file():
        raise _reject(name, "listed in the manifest but absent from the delivery folder")
    return ManifestFile(entity=entity, file=name, rows=rows, sha256=sha256, path=path)


def check_header(listed: ManifestFile, header: list[str]) -> list[str]:
    """The header, when it has the entity's columns (any order); else a rejection.

    A column that is not required may be absent (a source that predates it): its values load as NULL.
    """
    entity: Entity = load_contract().entity(listed.entity)
    expected = set(entity.column_names)
    duplicated = sorted({name for name in header if header.count(name) > 1})
    unknown = [name for name in header if name not in expected]
    missing = [column.name for column in entity.columns if column.required and column.name not in header]
    if duplicated:
        raise _reject(listed.file, f"header repeats column(s) {', '.join(duplicated)}")
    if unknown:
        raise _reject(listed.file, f"unknown column(s) {', '.join(unknown)} (not in the contract for {entity.name})")
    if missing:
        raise _reject(listed.file, f"missing column(s) {', '.join(missing)}")
    return header


def file_header(listed: ManifestFile) -> list[str]:
    """The checked header of a listed file, whatever its format."""
    header = parquet_header(listed.path) if listed.format == ".parquet" else csv_header(listed.path)
    return check_header(listed, header)


def check_sha256(listed: ManifestFile, sha256: str) -> None:
    """A file's measured SHA-256 must be the manifest's."""
    if sha256 != listed.sha256:
        raise _reject(
            listed.file,
            f"SHA-256 mismatch (truncated or altered?): manifest {listed.sha256[:12]}..., file {sha256[:12]}...",
        )


def check_rows(listed: ManifestFile, rows: int) -> None:
    """A file's measured data-row count must be the manifest's."""
    if rows != listed.rows:
        raise _reject(listed.file, f"row count mismatch: manifest says {listed.rows}, file has {rows}")


def _scan(listed: ManifestFile) -> tuple[str, RecordCounter]:
    """One streaming pass over a CSV file: SHA-256 of its stored bytes and its records."""
    counter = RecordCounter()
    with DeliveredFile(listed.path) as delivered:
        for chunk in delivered.chunks():
            counter.feed(chunk)
        return delivered.sha256(), counter


def _data_rows(listed: ManifestFile, counter: RecordCounter) -> int:
    """Data rows: newlines outside quotes, or the csv module's exact count when the file has a stray
    quote (the loader takes the Python path for such a file, too)."""
    if counter.stray_quote:
        with DeliveredFile(listed.path) as delivered:
            return max(csv_records(delivered.text()) - 1, 0)
    return max(counter.records - 1, 0)


def verify_file(listed: ManifestFile, count_rows: bool = True) -> ManifestFile:
    """Check one listed file: SHA-256 first (a truncated or altered file is reported as such), then
    its header, then its row count. Streams the file; loads nothing. Returns the entry with what
    the scan found out (stray quotes).

    Without `count_rows`, a CSV file's row count is left to the loader, which counts (and hashes)
    the records again anyway as it loads them inside the delivery's transaction: a mismatch still
    rejects the delivery with nothing loaded, and the file is read once fewer.
    """
    if listed.format == ".csv" and not count_rows:
        check_sha256(listed, file_sha256(listed.path))
        file_header(listed)
        return listed
    if listed.format == ".parquet":
        check_sha256(listed, file_sha256(listed.path))
        file_header(listed)
        check_rows(listed, parquet_rows(listed.path))
        return listed
    if listed.format == ".csv.gz":
        # Hash the stored bytes before decompressing: a truncated gzip is reported as a checksum mismatch.
        check_sha256(listed, file_sha256(listed.path))
    sha256, counter = _scan(listed)
    check_sha256(listed, sha256)
    file_header(listed)
    check_rows(listed, _data_rows(listed, counter))
    return dataclasses.replace(listed, stray_quote=counter.stray_quote)


def validate(business_date: dt.date, landing_root: Path, count_rows: bool = True) -> Manifest:
    """Every whole-delivery check (structure, checksums, headers, row counts); loads nothing.

    `count_rows=False` (a load in the same transaction follows): see verify_file.
    """
    manifest = read_manifest(business_date, landing_root)
    files = {entity: verify_file(listed, count_rows) for entity, listed in manifest.files.items()}
    return dataclasses.replace(manifest, files=files)
