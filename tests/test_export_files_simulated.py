"""What leaves the warehouse carries the rules (business rules §5), read from the exported FILES themselves.

A small simulated book, with restrictions of every contact-limiting kind added to its last delivery,
goes through ingest, the dbt build and the export. The files are then read as a dialer or a gateway
would read them, and every row, channel, number and time window is judged against what the raw
landing data bars, computed here from the CSV deliveries by the rules' own words, not by the
warehouse or the export code.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

pytestmark = pytest.mark.slow  # one small book generated, ingested, built and exported (~1-2 min on 2 cores)

START = dt.date(2026, 3, 1)
DAYS = 5
D = START + dt.timedelta(days=DAYS - 1)
KEY = "files-test-key"
TZ = ZoneInfo("Asia/Shanghai")
ALL_CHANNELS = {"call", "sms", "email", "app_push", "letter", "visit", "legal_notice"}
CEASE_BARS = {"call", "sms", "email", "app_push", "visit"}  # letters and legal notices stay (§5)
LEGAL_ONLY = {"dispute", "deceased", "bankruptcy", "legal_hold", "cease_communication"}  # held or legal
FAILED_CALL = {"no_answer", "unreachable", "wrong_number"}
THIRD_PARTY = {"emergency_contact", "employer"}
# Restrictions added to the last delivery, by borrower position (every contact-limiting kind of §5).
ADDED = {
    0: ("do_not_contact", "sms"),
    1: ("do_not_contact", "call"),
    2: ("do_not_contact", ""),
    3: ("cease_communication", ""),
    4: ("dispute", ""),
    5: ("legal_hold", ""),
    6: ("do_not_contact", "sms"),
}


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _add_restrictions(landing: Path) -> None:
    """Append restrictions to D's delivery (and its manifest) as the source would deliver them."""
    folder = landing / D.isoformat()
    borrowers = sorted({row["borrower_id"] for row in _rows(landing / START.isoformat() / "loans.csv")})
    path = folder / "restrictions.csv"
    rows = _rows(path)
    header = list(rows[0]) if rows else [
        "restriction_id", "borrower_id", "kind", "channel", "effective_from", "effective_to", "updated_at"
    ]  # fmt: skip
    for position, borrower in enumerate(borrowers):
        if position % 10 in ADDED:
            kind, channel = ADDED[position % 10]
            added = {"restriction_id": f"RT{position:06d}", "borrower_id": borrower, "kind": kind, "channel": channel,
                     "effective_from": (D - dt.timedelta(days=1)).isoformat(), "effective_to": "",
                     "updated_at": f"{D.isoformat()}T09:00:00+08:00"}  # fmt: skip
            rows.append({column: added.get(column, "") for column in header})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
    entries = [entry for entry in manifest["files"] if entry["entity"] != "restrictions"]
    entries.append({"entity": "restrictions", "file": "restrictions.csv", "rows": len(rows),
                    "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})  # fmt: skip
    manifest["files"] = entries
    (folder / "_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


@dataclass
class Landing:
    """The raw deliveries up to D, as known at D (latest version of each upsert key, events once)."""

    loans: dict[str, dict[str, str]] = field(default_factory=dict)
    contact_points: dict[str, dict[str, str]] = field(default_factory=dict)
    restrictions: dict[str, dict[str, str]] = field(default_factory=dict)
    actions: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def read(cls, landing: Path) -> Landing:
        known = cls()
        for offset in range(DAYS):
            folder = landing / (START + dt.timedelta(days=offset)).isoformat()
            for entity, key in (("loans", "loan_id"), ("contact_points", "contact_point_id"),
                                ("restrictions", "restriction_id")):  # fmt: skip
                table = getattr(known, entity)
                for row in _rows(folder / f"{entity}.csv"):
                    held = table.get(row[key])
                    if held is None or dt.datetime.fromisoformat(row["updated_at"]) >= dt.datetime.fromisoformat(
                        held["updated_at"]
                    ):
                        table[row[key]] = row
            for row in _rows(folder / "collection_actions.csv"):
                known.actions.setdefault(row["action_id"], row)
        return known

    def active(self, borrower: str) -> list[dict[str, str]]:
        """The borrower's restrictions active at D."""
        return [
            row
            for row in self.restrictions.values()
            if row["borrower_id"] == borrower
            and dt.date.fromisoformat(row["effective_from"]) <= D
            and (not row["effective_to"] or dt.date.fromisoformat(row["effective_to"]) >= D)
        ]

    def barred_channels(self, borrower: str) -> set[str]:
        """do_not_contact bars its channel (all when empty, unless it names one number); cease bars all but paper."""
        barred: set[str] = set()
        for row in self.active(borrower):
            if row["kind"] == "do_not_contact" and not row.get("contact_point_id"):
                barred |= {row["channel"]} if row["channel"] else ALL_CHANNELS
            elif row["kind"] == "cease_communication":
                barred |= CEASE_BARS
        return barred

    def barred_numbers(self, borrower: str) -> set[str]:
        """Numbers a do_not_contact names (per-number bars), when the delivery carries the column."""
        return {
            row["contact_point_id"]
            for row in self.active(borrower)
            if row["kind"] == "do_not_contact" and row.get("contact_point_id")
        }

    def lost_contact(self, borrower: str) -> bool:
        """Every own number invalid, or its last 3 outbound calls (90 days up to D) all failed; none on file: lost."""
        own = [
            cp for cp in self.contact_points.values() if cp["borrower_id"] == borrower and cp["kind"].startswith("own_")
        ]
        for number in own:
            if number["is_valid"] == "false":
                continue
            calls = sorted(
                (
                    row
                    for row in self.actions.values()
                    if row["contact_point_id"] == number["contact_point_id"]
                    and row["channel"] == "call"
                    and row["direction"] == "outbound"
                    and D - dt.timedelta(days=89)
                    <= dt.datetime.fromisoformat(row["action_at"]).astimezone(TZ).date()
                    <= D
                ),
                key=lambda row: dt.datetime.fromisoformat(row["action_at"]),
            )[-3:]
            if len(calls) < 3 or any(row["outcome"] not in FAILED_CALL for row in calls):
                return False
        return True


@dataclass
class ExportedFile:
    recipient: str
    rows: list[dict[str, str]]
    numbers: list[dict[str, str]] | None


def _read_export(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw[3:].decode("utf-8"))))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, server_url: str) -> Iterator[tuple[Landing, list[ExportedFile]]]:
    """The simulated book ingested, built for D, cleared by the gate and exported; its landing as known at D."""
    from arrears.checks import suite_names
    from arrears.export import ExportWritten, export_each
    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.transform import build
    from arrears.warehouse.schema import init_schema

    landing = tmp_path_factory.mktemp("files_sim") / "landing"
    generate(loans=400, start=START, days=DAYS, seed=11, out=landing)
    _add_restrictions(landing)
    name = f"test_files_sim_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.execute(f'create database "{name}"')
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    patch = pytest.MonkeyPatch()
    patch.setenv("ARREARS_WAREHOUSE_URL", url)
    patch.setenv("ARREARS_HOME", str(tmp_path_factory.mktemp("files_sim_home")))
    patch.setenv("ARREARS_HASH_KEY", KEY)
    with psycopg.connect(url, autocommit=True) as conn:
        init_schema(conn)
    for offset in range(DAYS):
        ingest_delivery(START + dt.timedelta(days=offset), landing)
    build(D)
    # The gate's suites are tested elsewhere (test_checks_*, test_export_routing): here a passed run is recorded.
    with psycopg.connect(url, autocommit=True) as conn:
        for suite in suite_names():
            conn.execute(
                "insert into audit.dq_results (run_id, business_date, suite, expectation, success)"
                " values ('dq-files-test', %s, %s, 'all', true)",
                (D, suite),
            )
    results = export_each(D)
    files = []
    for result in results:
        assert isinstance(result, ExportWritten), result
        if not result.files[0].path.name.endswith(".csv"):
            continue  # legal's xlsx is read by lawyers, not by a dialer or gateway
        numbers = _read_export(result.files[1].path) if len(result.files) > 1 else None
        files.append(ExportedFile(result.recipient, _read_export(result.files[0].path), numbers))
    yield Landing.read(landing), files
    patch.undo()
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


def _loan_of(row: dict[str, str], references: dict[str, str]) -> str:
    if "loan_id" in row or "借据号" in row:
        return row.get("loan_id") or row["借据号"]
    return references[row["reference"]]  # the SMS gateway gets a keyed hash of the loan


def _channels(recipient: str, row: dict[str, str]) -> set[str]:
    text = row.get("channels", row.get("可用渠道"))
    if text is None:
        assert recipient == "predue", recipient
        return {"sms"}  # the SMS gateway's file is for SMS
    return set(text.split("|")) if text else set()


def test_no_exported_row_offers_a_channel_the_raw_restrictions_bar(
    exported: tuple[Landing, list[ExportedFile]],
) -> None:
    landing, files = exported
    references = {hmac.new(KEY.encode(), loan.encode(), hashlib.sha256).hexdigest(): loan for loan in landing.loans}
    judged = barred_seen = 0
    for file in files:
        for row in file.rows:
            borrower = landing.loans[_loan_of(row, references)]["borrower_id"]
            channels = _channels(file.recipient, row)
            assert channels, (file.recipient, row)  # only legal may take a row without a channel
            barred = landing.barred_channels(borrower)
            assert not channels & barred, (file.recipient, row, barred)
            assert not {r["kind"] for r in landing.active(borrower)} & LEGAL_ONLY, (file.recipient, row)
            judged += 1
            barred_seen += bool(barred)
    assert judged > 20 and barred_seen > 5, (judged, barred_seen)  # the rule had rows to bite on
    by_name = {file.recipient: file for file in files}
    assert by_name["predue_app"].rows, "no pre-due row was left with app_push only"
    assert all(_channels("predue_app", row) == {"app_push"} for row in by_name["predue_app"].rows)


def test_dialer_files_carry_the_window_and_caps_and_only_numbers_the_rules_allow(
    exported: tuple[Landing, list[ExportedFile]],
) -> None:
    landing, files = exported
    dialers = [file for file in files if file.numbers is not None]
    assert sorted(file.recipient for file in dialers) == [
        "agency_acme",
        "agency_pioneer",
        "agency_summit",
        "early",
        "mid",
    ]
    numbers_seen = third_party_seen = 0
    for file in dialers:
        loans = {row["借据号"]: row for row in file.rows}
        for row in file.rows:
            assert row["借款人时区"] == "Asia/Shanghai"
            assert "08:00" <= row["可联系开始"] < row["可联系结束"] <= "22:00"  # §5: no contact 22:00-08:00
            assert int(row["每日接通上限"]) <= 3 and int(row["每号码每日未接通上限"]) <= 6
        assert file.numbers is not None
        for number in file.numbers:
            row = loans[number["借据号"]]  # every number belongs to a row of the same recipient's file
            assert _channels(file.recipient, row) & {"call", "sms"}
            borrower = landing.loans[number["借据号"]]["borrower_id"]
            point = landing.contact_points[number["号码编号"]]
            assert point["borrower_id"] == borrower and point["is_valid"] != "false"
            assert number["电话号码"] == point["phone"] and number["号码类型"] == point["kind"]
            assert number["号码编号"] not in landing.barred_numbers(borrower)
            is_third_party = point["kind"] in THIRD_PARTY
            assert number["仅限查找本人"] == ("true" if is_third_party else "false")
            if is_third_party:
                assert landing.lost_contact(borrower), number  # third parties only once contact is lost
                third_party_seen += 1
            numbers_seen += 1
    assert numbers_seen > 20 and third_party_seen > 0, (numbers_seen, third_party_seen)


def test_field_rows_carry_the_minimum_collectors_and_the_address(
    exported: tuple[Landing, list[ExportedFile]],
) -> None:
    _, files = exported
    (field_file,) = [file for file in files if file.recipient == "field"]
    for row in field_file.rows:
        assert int(row["最少外访人数"]) >= 2 and row["地址"]
        assert "visit" in _channels("field", row)
