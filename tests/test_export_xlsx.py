"""The xlsx format (read back with openpyxl, as a spreadsheet would) and reason codes in the file's language."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import yaml

from tests.support.exports import clear_gate, read_csv, use_recipients
from tests.support.marts import add_borrower, add_loan, add_raw, create_marts
from tests.support.routing_spec import reroute

D = dt.date(2024, 3, 5)
REPO = Path(__file__).resolve().parents[1]
# Digits only, 18 of them: a spreadsheet reading it as a number keeps 15 significant digits (1.50102198308259E+17).
NATIONAL_ID = "150102198308250017"
PHONE = "01062345678"  # a Beijing landline: as a number it would lose its leading zero


def _legal_loan(conn: psycopg.Connection, full_name: str = "王小明") -> None:
    create_marts(conn)
    add_loan(conn, D, "L0000000001", dpd=130, team="legal", outstanding="15000.00", reason="legal_rule,ptp_hold")
    add_borrower(
        conn, D, "B0000000001", national_id=NATIONAL_ID, mobile_phone=PHONE, full_name=full_name,
        birth_date=dt.date(1983, 8, 25),
    )  # fmt: skip
    clear_gate(conn)


def test_legal_xlsx_keeps_id_phone_and_dates_as_text_with_a_frozen_chinese_header(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    import openpyxl

    from arrears.export import export_recipient

    _legal_loan(conn)
    written = export_recipient(D, "legal")

    path = written.files[0].path
    assert path.name == "legal_2024-03-05.xlsx"
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    row = dict(zip(header, sheet[2], strict=True))
    assert header[:4] == ["借据号", "原因", "姓名", "身份证号"]
    assert sheet.freeze_panes == "A2"  # the header row stays in view
    assert row["身份证号"].value == NATIONAL_ID and row["身份证号"].data_type == "s"
    assert row["手机号"].value == PHONE and row["手机号"].data_type == "s"
    assert row["借据号"].value == "L0000000001" and row["借据号"].data_type == "s"
    assert row["出生日期"].value == "1983-08-25" and row["出生日期"].data_type == "s"  # a date as text, not a serial
    assert row["原因"].value == "符合诉讼条件、承诺还款期内暂停电催"  # reason codes labelled, in their order
    # Amounts stay numbers (they add up), shown with the warehouse's two decimals.
    assert row["诉讼请求金额"].data_type == "n" and row["诉讼请求金额"].value == 15000  # outstanding + interest + fee
    assert row["诉讼请求金额"].number_format == "0.00"
    assert row["逾期天数"].value == 130
    assert sheet.max_row == 2
    widths = {column: sheet.column_dimensions[column].width for column in ("A", "D")}
    assert widths["D"] >= len(NATIONAL_ID)  # the whole ID is visible without widening the column
    manifest = json.loads((written.folder / "_manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "xlsx" and manifest["encoding"] is None
    assert manifest["files"] == [
        {"file": path.name, "rows": 1, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    ]
    recorded = conn.execute("select file, rows, sha256 from audit.exports where recipient = 'legal'").fetchall()
    assert recorded == [(path.name, 1, manifest["files"][0]["sha256"])]


def test_legal_file_counts_payments_and_contacts_as_first_delivered_up_to_the_date(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    """Business rules §1-3: an event counts from its first delivery on or before D; a payment counts from its value
    date and a reversal cancels it entirely; a contact counts on its borrower-local date (UTC+8 here)."""
    import openpyxl

    from arrears.export import export_recipient

    _legal_loan(conn)
    loan, before = "L0000000001", D - dt.timedelta(days=3)

    def payment(day: dt.date, line: int, payment_id: str, value_date: dt.date, **extra: object) -> None:
        add_raw(conn, "raw.payments", day, line, payment_id=payment_id, loan_id=loan, value_date=value_date,
                received_at=dt.datetime(2024, 3, 1, tzinfo=dt.UTC), amount=Decimal("100.00"), channel="alipay",
                **extra)  # fmt: skip

    payment(before, 1, "P1", before)  # counts
    payment(before, 2, "P2", before - dt.timedelta(days=1))  # reversed on D: cancelled, its money back
    payment(D, 1, "R2", D, reversal_of="P2")
    payment(D, 2, "P3", D + dt.timedelta(days=1))  # valued after D: not yet
    payment(D + dt.timedelta(days=1), 1, "P4", before)  # delivered after D: not known at D
    payment(D, 3, "P1", D)  # P1 redelivered with another value date: the first delivery wins

    def action(day: dt.date, line: int, action_id: str, at: dt.datetime, direction: str, outcome: str) -> None:
        values = {"borrower_id": "B0000000001", "action_at": at, "channel": "call", "direction": direction}
        add_raw(conn, "raw.collection_actions", day, line, action_id=action_id, loan_id=loan, outcome=outcome, **values)

    # 2024-03-04 17:00 UTC is 2024-03-05 01:00 in Shanghai: D's contact. 2024-03-05 16:30 UTC is already D + 1.
    action(before, 1, "A1", dt.datetime(2024, 3, 2, 2, tzinfo=dt.UTC), "outbound", "no_answer")
    action(D, 1, "A2", dt.datetime(2024, 3, 4, 17, tzinfo=dt.UTC), "outbound", "promise_to_pay")
    action(D, 2, "A3", dt.datetime(2024, 3, 3, 9, tzinfo=dt.UTC), "inbound", "right_party_contact")
    action(D, 3, "A4", dt.datetime(2024, 3, 5, 16, 30, tzinfo=dt.UTC), "outbound", "right_party_contact")

    path = export_recipient(D, "legal").files[0].path
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    row = {cell.value: value.value for cell, value in zip(sheet[1], sheet[2], strict=True)}
    assert row["还款笔数"] == 1  # P1 (P2 reversed, P3 not yet valued, P4 not yet delivered)
    assert row["已还总额"] == 100  # P1 + P2 - R2
    assert row["最近还款日"] == before.isoformat()
    assert row["催收次数"] == 2  # A1, A2 outbound by D (A4 is D + 1 in Shanghai; A3 inbound)
    assert row["本人联系次数"] == 2  # A2 and A3
    assert row["最近联系日"] == D.isoformat()


def test_xlsx_reexport_is_byte_identical(conn: psycopg.Connection, arrears_home: Path) -> None:
    from arrears.export import export_recipient

    _legal_loan(conn)
    first = export_recipient(D, "legal")
    data = first.files[0].path.read_bytes()
    manifest = (first.folder / "_manifest.json").read_bytes()

    second = export_recipient(D, "legal")

    assert second.files[0].path.read_bytes() == data  # no clock in the zip members or the document properties
    assert (second.folder / "_manifest.json").read_bytes() == manifest


def test_xlsx_cell_starting_with_a_formula_trigger_is_text_never_a_formula(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    import openpyxl

    from arrears.export import export_recipient

    _legal_loan(conn, full_name='=HYPERLINK("http://x","y")')
    sheet = openpyxl.load_workbook(export_recipient(D, "legal").files[0].path).active
    assert sheet is not None
    name = sheet["C2"]
    assert name.data_type == "s"  # a string cell: a spreadsheet shows it, never evaluates it
    assert name.value == '\'=HYPERLINK("http://x","y")'  # and the same neutralised value as the CSV carries


def test_reason_codes_are_labelled_in_chinese_files_and_kept_as_codes_in_english_files(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from arrears.export import export_recipient

    columns = [{"name": "loan_id", "policy": "full"}, {"name": "reason", "policy": "full"}]

    def export_in(language: str) -> list[list[str]]:
        # One recipient per file: two recipients of one team serving the same channels would split its rows.
        recipient = {"teams": ["early"], "header_language": language, "suites": ["x"], "columns": columns}
        use_recipients({"recipients": {language: recipient}}, tmp_path, monkeypatch)
        reroute(conn, D)  # as the night's build with this recipients file would route the rows
        return read_csv(export_recipient(D, language).files[0].path)

    create_marts(conn)
    add_loan(conn, D, "L1", dpd=5, team="early", reason="early,ptp_hold,weekly_call_limit", rank=1)
    add_loan(conn, D, "L2", dpd=6, team="early", reason="early,some_new_code", rank=2)
    add_loan(conn, D, "L3", dpd=7, team="early", reason=None, rank=3)
    add_loan(conn, D, "L4", dpd=8, team="early", reason="cease_communication_legal,ptp_hold", rank=4)
    conn.execute(
        "insert into audit.dq_results (run_id, business_date, suite, expectation, success) values (%s, %s, %s, %s, %s)",
        ("dq-x", D, "x", "all", True),
    )

    chinese = export_in("zh-CN")
    english = export_in("en")

    assert chinese[1:] == [
        ["L1", "早期逾期、承诺还款期内暂停电催、已达每周电催上限"],
        ["L2", "早期逾期、some_new_code"],  # a code without a label stays readable as the code
        ["L3", ""],
        ["L4", "要求停止联系（转法务）、承诺还款期内暂停电催"],  # not cease_communication's label + "_legal"
    ]
    assert english[1:] == [
        ["L1", "early,ptp_hold,weekly_call_limit"],
        ["L2", "early,some_new_code"],
        ["L3", ""],
        ["L4", "cease_communication_legal,ptp_hold"],
    ]


def test_every_reason_code_the_queue_can_carry_has_a_chinese_label() -> None:
    from arrears.export.labels import REASON_LABELS_FILE

    with open(REPO / "dbt_project" / "seeds" / "work_queue_routing.csv", encoding="utf-8") as handle:
        routing = list(csv.DictReader(handle))
    narrowing = (REPO / "dbt_project/models/intermediate/collections/int_work_queue_narrowed.sql").read_text()
    codes = {row["rule_id"] for row in routing} | {row["hold_reason"] for row in routing if row["hold_reason"]}
    codes |= {"no_route"} | {code for code in ("ptp_hold", "do_not_contact", "weekly_call_limit") if code in narrowing}
    labels = yaml.safe_load(REASON_LABELS_FILE.read_text(encoding="utf-8"))["labels"]["zh-CN"]
    assert codes - set(labels) == set()
    assert len(codes) >= 14


def test_a_sheet_too_long_for_xlsx_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import arrears.export.xlsx as xlsx

    monkeypatch.setattr(xlsx, "MAX_DATA_ROWS", 2)
    columns = [xlsx.XlsxColumn("loan_id", text=True), xlsx.XlsxColumn("amount", text=False)]
    created = dt.datetime(2024, 3, 5, tzinfo=dt.UTC)
    data, rows = xlsx.xlsx_bytes([("L1", Decimal("1.50")), ("L2", 2)], columns, "t 2024-03-05", created)
    assert rows == 2 and data.startswith(b"PK")
    with pytest.raises(xlsx.TooManyRowsForXlsx, match="more than 2 rows do not fit an xlsx sheet; use format csv"):
        xlsx.xlsx_bytes([("L1", 1), ("L2", 2), ("L3", 3)], columns, "t 2024-03-05", created)
