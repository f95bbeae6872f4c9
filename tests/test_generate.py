"""The portfolio simulator: determinism, continuation, manifests, contract conformance, faults and violations truth.

Checks are independent re-implementations (csv module, hashlib, the published GB 11643 algorithm, the compliance
rules of business-rules.md section 7), never the simulator's own helpers.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from arrears.contract import load_contract
from arrears.errors import ArrearsError
from arrears.generate import generate, national_id_is_valid

START = datetime.date(2026, 3, 1)
LOANS, DAYS, SEED, RATE = 400, 20, 6, 0.02
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
SEEDS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"


def published_check_char(first17: str) -> str:
    """GB 11643-1999: sum of digit x weight, mod 11, mapped through 1 0 X 9 8 7 6 5 4 3 2."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "landing"
    generate(loans=LOANS, start=START, days=DAYS, seed=SEED, out=out, inject_faults=RATE)
    return out


def truth_rows(landing: Path, name: str) -> list[dict[str, str]]:
    with (Path(str(landing) + "_truth") / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def fault_lines(landing: Path) -> dict[tuple[str, str], dict[int, str]]:
    faults: dict[tuple[str, str], dict[int, str]] = defaultdict(dict)
    for row in truth_rows(landing, "faults.csv"):
        faults[(row["business_date"], row["entity"])][int(row["line_no"])] = row["reason"]
    return faults


def read_lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\r\n")[:-1]


def clean_rows(landing: Path, entity: str) -> list[tuple[str, dict[str, str]]]:
    """(business date, row) for every row not listed in faults.csv, over all days."""
    faults = fault_lines(landing)
    result = []
    for folder in sorted(p for p in landing.iterdir() if p.is_dir()):
        bad = faults.get((folder.name, entity), {})
        lines = read_lines(folder / f"{entity}.csv")
        header = next(csv.reader([lines[0].decode()]))
        for number, raw in enumerate(lines[1:], start=2):
            if number not in bad:
                result.append((folder.name, dict(zip(header, next(csv.reader([raw.decode()])), strict=True))))
    return result


def test_national_id_checksum_matches_published_algorithm() -> None:
    first17 = "11010519491231002"
    valid = first17 + published_check_char(first17)
    assert valid == "11010519491231002X"  # the standard's own worked example
    assert national_id_is_valid(valid)
    for first in ("44030619710201980", "31010119900307123", "51010419851111001"):
        good = first + published_check_char(first)
        assert national_id_is_valid(good)
        wrong = "0" if good[-1] != "0" else "1"
        assert not national_id_is_valid(good[:-1] + wrong)
    assert not national_id_is_valid("1101051949123100")
    assert not national_id_is_valid("11010519491231002Y")


def test_same_seed_is_byte_identical_and_other_seed_differs(tmp_path: Path) -> None:
    generate(loans=150, start=START, days=6, seed=5, out=tmp_path / "a", inject_faults=RATE)
    generate(loans=150, start=START, days=6, seed=5, out=tmp_path / "b", inject_faults=RATE)
    generate(loans=150, start=START, days=6, seed=6, out=tmp_path / "c", inject_faults=RATE)
    a, b, c = tree(tmp_path / "a"), tree(tmp_path / "b"), tree(tmp_path / "c")
    assert a == b
    assert tree(tmp_path / "a_truth") == tree(tmp_path / "b_truth")
    assert a.keys() == c.keys() and a != c


def test_continuing_a_folder_equals_generating_in_one_go(tmp_path: Path) -> None:
    generate(loans=150, start=START, days=9, seed=4, out=tmp_path / "once", inject_faults=RATE)
    generate(loans=150, start=START, days=5, seed=4, out=tmp_path / "twice", inject_faults=RATE)
    generate(
        loans=150, start=START + datetime.timedelta(days=5), days=4, seed=4, out=tmp_path / "twice", inject_faults=RATE
    )
    assert tree(tmp_path / "once") == tree(tmp_path / "twice")
    assert tree(tmp_path / "once_truth") == tree(tmp_path / "twice_truth")


def test_continuation_must_follow_the_last_delivery_with_the_same_settings(tmp_path: Path) -> None:
    generate(loans=100, start=START, days=2, seed=4, out=tmp_path / "l", inject_faults=0.0)
    with pytest.raises(ArrearsError, match="--start 2026-03-03"):
        generate(loans=100, start=START, days=2, seed=4, out=tmp_path / "l", inject_faults=0.0)
    with pytest.raises(ArrearsError, match="seed"):
        generate(loans=100, start=START + datetime.timedelta(days=2), days=1, seed=9, out=tmp_path / "l")


def test_manifests_match_the_files(landing: Path) -> None:
    contract = load_contract()
    folders = sorted(p for p in landing.iterdir() if p.is_dir())
    assert [f.name for f in folders] == [(START + datetime.timedelta(days=i)).isoformat() for i in range(DAYS)]
    for folder in folders:
        manifest = json.loads((folder / "_manifest.json").read_text())
        assert manifest["business_date"] == folder.name
        assert manifest["extracted_at"].endswith("+08:00")
        listed = {f["file"] for f in manifest["files"]}
        assert listed == {p.name for p in folder.glob("*.csv")}
        assert {f["entity"] for f in manifest["files"]} == set(contract.entities)
        for entry in manifest["files"]:
            data = (folder / entry["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert len(data.split(b"\r\n")) - 2 == entry["rows"]  # header and the final terminator excluded
        assert (folder / "_manifest.json").stat().st_mtime_ns >= max(p.stat().st_mtime_ns for p in folder.glob("*.csv"))


def test_headers_are_the_contract_columns_and_every_entity_has_rows(landing: Path) -> None:
    contract = load_contract()
    totals: Counter[str] = Counter()
    for folder in sorted(p for p in landing.iterdir() if p.is_dir()):
        for name, entity in contract.entities.items():
            lines = read_lines(folder / f"{name}.csv")
            assert lines[0].decode().split(",") == entity.column_names
            totals[name] += len(lines) - 1
    assert all(totals[name] > 0 for name in contract.entities), totals


def test_identities_and_formats_of_clean_rows(landing: Path) -> None:
    borrowers = clean_rows(landing, "borrowers")
    assert borrowers
    for _, row in borrowers:
        nid = row["national_id"]
        assert len(nid) == 18 and published_check_char(nid[:17]) == nid[17]
        assert MOBILE.match(row["mobile_phone"])
    for _, row in clean_rows(landing, "contact_points"):
        assert MOBILE.match(row["phone"])
    stamp = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")
    amount = re.compile(r"^\d+\.\d{2}$")
    for _, row in clean_rows(landing, "payments"):
        assert stamp.match(row["received_at"]) and amount.match(row["amount"]) and float(row["amount"]) > 0
        datetime.date.fromisoformat(row["value_date"])


def _row_problem(entity_name: str, fields: list[str], header: list[str]) -> str | None:
    """An independent reading of the contract's row rules; None when the row is clean."""
    entity = load_contract().entity(entity_name)
    if len(fields) != len(header):
        return "malformed_row"
    row = dict(zip(header, fields, strict=True))
    for column in entity.columns:
        value = row[column.name]
        if value == "":
            if column.required:
                return "missing_required"
            continue
        try:
            if column.type == "date":
                datetime.date.fromisoformat(value)
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
            elif column.type == "timestamp":
                datetime.datetime.fromisoformat(value)
            elif column.type == "amount":
                assert re.fullmatch(r"-?\d+(\.\d{1,2})?", value)
            elif column.type in ("integer",):
                int(value)
            elif column.type == "decimal":
                float(value)
            elif column.type == "boolean":
                assert value in ("true", "false")
        except (ValueError, AssertionError):
            return "bad_type"
        if column.allowed and value not in column.allowed:
            return "not_allowed"
        if column.check == "positive" and float(value) <= 0 or column.check == "non_negative" and float(value) < 0:
            return "out_of_range"
        if column.check == "national_id" and not (len(value) == 18 and published_check_char(value[:17]) == value[17]):
            return "invalid_national_id"
        if column.check == "mobile_phone" and not MOBILE.match(value):
            return "invalid_phone"
    return None


def test_faults_truth_lists_exactly_the_bad_lines(landing: Path) -> None:
    contract = load_contract()
    faults = fault_lines(landing)
    assert sum(len(v) for v in faults.values()) > 0
    assert {r for lines in faults.values() for r in lines.values()} >= {
        "malformed_row", "invalid_encoding", "missing_required", "bad_type", "not_allowed", "out_of_range",
        "invalid_national_id", "invalid_phone", "duplicate_key_in_file", "event_conflict",
    }  # fmt: skip
    delivered: dict[tuple[str, str], str] = {}  # event key -> content first delivered
    for folder in sorted(p for p in landing.iterdir() if p.is_dir()):
        for name, entity in contract.entities.items():
            listed = faults.get((folder.name, name), {})
            lines = read_lines(folder / f"{name}.csv")
            header = lines[0].decode().split(",")
            keys: Counter[tuple[str, ...]] = Counter()
            parsed: dict[int, list[str]] = {}
            for number, raw in enumerate(lines[1:], start=2):
                try:
                    parsed[number] = next(csv.reader(io.StringIO(raw.decode("utf-8"))))
                except UnicodeDecodeError:
                    assert listed.get(number) == "invalid_encoding", (folder.name, name, number)
                    continue
                if len(parsed[number]) == len(header):
                    keys[tuple(parsed[number][header.index(k)] for k in entity.key)] += 1
            for number, fields in parsed.items():
                problem = _row_problem(name, fields, header)
                if problem is None and len(fields) == len(header):
                    key = tuple(fields[header.index(k)] for k in entity.key)
                    if keys[key] > 1:
                        problem = "duplicate_key_in_file"
                    elif entity.is_event:
                        content = ",".join(fields)
                        earlier = delivered.get((name, key[0]))
                        if earlier is not None and earlier != content:
                            problem = "event_conflict"
                        elif earlier is None:
                            delivered[(name, key[0])] = content
                assert listed.get(number) == problem, (folder.name, name, number, fields)


def test_faults_are_extra_rows_so_rate_zero_writes_none(tmp_path: Path) -> None:
    summary = generate(loans=100, start=START, days=3, seed=8, out=tmp_path / "l", inject_faults=0.0)
    assert summary.faults == 0
    assert truth_rows(tmp_path / "l", "faults.csv") == []
    assert "3 deliveries" in str(summary) and str(tmp_path / "l_truth") in str(summary)


# Business rules §7, contact_during_restriction: the restriction kinds that leave only `legal` working.
LEGAL_ONLY_KINDS = {"deceased", "bankruptcy", "legal_hold"}


def _barred_by(restriction: dict[str, str], row: dict[str, str], legal_route: bool) -> bool:
    """Whether an active borrower-wide restriction bars the action (the §7 table, kind by kind)."""
    kind, team, channel = restriction["kind"], row["team_id"], row["channel"]
    if kind == "dispute":
        return not (team == "legal" and legal_route)
    if kind == "cease_communication":
        return not (team == "legal" and channel in {"letter", "legal_notice"})
    if kind in LEGAL_ONLY_KINDS:
        return team != "legal"
    if kind == "do_not_contact":
        return (restriction["channel"] or channel) == channel
    return False  # complaint


def _open_cases(landing: Path) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """loan_id -> (delivery date, version) of its legal cases, in delivery order."""
    cases: dict[str, list[tuple[str, dict[str, str]]]] = defaultdict(list)
    for delivered, row in clean_rows(landing, "legal_cases"):
        cases[row["loan_id"]].append((delivered, row))
    return cases


def _case_open(cases: list[tuple[str, dict[str, str]]], day: str, delivered: str) -> bool:
    """An open case on the loan, as delivered by `delivered`, opened before `day` (the queue's next day on)."""
    latest: dict[str, dict[str, str]] = {}
    for when, row in cases:
        if when <= delivered:
            latest[row["case_id"]] = row
    return any(r["status"] not in {"closed", "withdrawn"} and r["opened_on"] < day for r in latest.values())


def test_compliance_audit_finds_exactly_the_injected_violations(landing: Path) -> None:
    """Re-derive every rule of business-rules.md section 7 from the delivered rows and compare with the truth."""
    actions = [row for _, row in clean_rows(landing, "collection_actions")]
    contacts = {row["contact_point_id"]: row for _, row in clean_rows(landing, "contact_points")}  # latest wins
    versions: dict[str, dict[str, str]] = {}
    for _, row in clean_rows(landing, "restrictions"):
        versions[row["restriction_id"]] = row
    cases = _open_cases(landing)
    delivered_on = {row["action_id"]: day for day, row in clean_rows(landing, "collection_actions")}
    outcome = {r["outcome"]: r for r in csv.DictReader((SEEDS_DIR / "action_outcomes.csv").open())}
    third_kinds = {
        r["kind"]
        for r in csv.DictReader((SEEDS_DIR / "contact_point_kinds.csv").open())
        if r["is_third_party"] == "true"
    }
    found: set[tuple[str, str]] = set()
    actions.sort(key=lambda r: (r["action_at"], r["action_id"]))
    connected: Counter[tuple[str, str]] = Counter()
    unanswered: Counter[tuple[str, str]] = Counter()
    history: dict[str, list[str]] = defaultdict(list)  # own number -> outcomes of earlier calls
    for row in actions:
        when = datetime.datetime.fromisoformat(row["action_at"])
        day = when.date().isoformat()
        if not 8 <= when.hour < 22:
            found.add((row["action_id"], "outside_contact_window"))
        if row["channel"] == "call" and outcome[row["outcome"]]["is_connected"] == "true":
            connected[(row["borrower_id"], day)] += 1
            if connected[(row["borrower_id"], day)] > 3:
                found.add((row["action_id"], "over_daily_connected_calls"))
        if row["channel"] == "call" and outcome[row["outcome"]]["is_unanswered"] == "true":
            unanswered[(row["contact_point_id"], day)] += 1
            if unanswered[(row["contact_point_id"], day)] > 6:
                found.add((row["action_id"], "over_daily_unanswered_attempts"))
        if row["channel"] == "visit" and int(row["collectors_present"] or 0) < 2:
            found.add((row["action_id"], "visit_under_two_collectors"))
        active = [
            r
            for r in versions.values()
            if r["effective_from"] <= day and (not r["effective_to"] or r["effective_to"] >= day)
        ]
        if any(r["contact_point_id"] and r["contact_point_id"] == row["contact_point_id"] for r in active):
            found.add((row["action_id"], "contact_to_barred_number"))
        mine = [r for r in active if r["borrower_id"] == row["borrower_id"] and not r["contact_point_id"]]
        case_open = _case_open(cases.get(row["loan_id"], []), day, delivered_on[row["action_id"]])
        legal_route = case_open or any(r["kind"] in LEGAL_ONLY_KINDS for r in mine)
        if (case_open and row["team_id"] != "legal") or any(_barred_by(r, row, legal_route) for r in mine):
            found.add((row["action_id"], "contact_during_restriction"))
        point = contacts.get(row["contact_point_id"])
        if row["channel"] == "call" and point and point["kind"] in third_kinds:
            own = [
                c for c in contacts.values() if c["borrower_id"] == row["borrower_id"] and c["kind"] not in third_kinds
            ]
            all_invalid = all(c["is_valid"] == "false" for c in own)
            all_failed = all(
                len(history[c["contact_point_id"]]) >= 3
                and all(outcome[o]["is_failed_call"] == "true" for o in history[c["contact_point_id"]][-3:])
                for c in own
            )
            if not (all_invalid or all_failed):
                found.add((row["action_id"], "third_party_without_lost_contact"))
        if row["channel"] == "call" and point and point["kind"] not in third_kinds:
            history[row["contact_point_id"]].append(row["outcome"])
    # outside_placement needs the warehouse's placements: test_agencies_simulated checks it.
    truth = {
        (r["action_id"], r["rule"]) for r in truth_rows(landing, "violations.csv") if r["rule"] != "outside_placement"
    }
    assert truth, "the simulator must inject violations"
    assert {rule for _, rule in truth} >= {
        "outside_contact_window", "over_daily_connected_calls", "over_daily_unanswered_attempts",
        "third_party_without_lost_contact", "visit_under_two_collectors", "contact_during_restriction",
        "contact_to_barred_number",
    }  # fmt: skip
    assert found == truth


def test_violation_actions_exist_on_their_business_date(landing: Path) -> None:
    delivered = {(day, row["action_id"]) for day, row in clean_rows(landing, "collection_actions")}
    for row in truth_rows(landing, "violations.csv"):
        assert (row["business_date"], row["action_id"]) in delivered


def test_business_behaviour_is_present(landing: Path) -> None:
    """The book shows the behaviours the marts are built for (not only that files exist)."""
    payments = [row for _, row in clean_rows(landing, "payments")]
    by_id = {row["payment_id"]: row for row in payments}
    reversals = [row for row in payments if row["reversal_of"]]
    assert reversals and all(by_id[r["reversal_of"]]["amount"] == r["amount"] for r in reversals)
    backdated = [(d, r) for d, r in clean_rows(landing, "payments") if r["value_date"] < d and d > START.isoformat()]
    assert backdated
    loans = {row["loan_id"]: row for _, row in clean_rows(landing, "loans")}
    assert {"active", "closed", "written_off"} <= {row["status"] for row in loans.values()}
    actions = [row for _, row in clean_rows(landing, "collection_actions")]
    teams = {row["team_id"].split(":")[0] for row in actions}
    assert {"predue", "early", "mid", "field", "agency", "legal"} <= teams
    visits = [row for row in actions if row["channel"] == "visit" and row["team_id"] == "field"]
    assert any(row["collectors_present"] in ("2", "3") for row in visits)
    promises = [row for row in actions if row["outcome"] == "promise_to_pay"]
    assert promises and all(row["promised_amount"] and row["promised_date"] for row in promises)
    installments = [row for _, row in clean_rows(landing, "installments")]
    restructures = [row for _, row in clean_rows(landing, "arrangements") if row["kind"] == "restructure"]
    for arrangement in restructures:
        version = arrangement["new_schedule_version"]
        rows = [r for r in installments if r["loan_id"] == arrangement["loan_id"] and r["schedule_version"] == version]
        assert [int(r["installment_no"]) for r in rows] == list(range(1, len(rows) + 1))


def test_a_closed_loan_has_its_payments_delivered_by_its_closing_date(tmp_path: Path) -> None:
    """The source closes a loan when the money is in: the delivery that says `closed` (or an earlier one)
    carries every payment value-dated up to the closing date, even one that would have arrived late.
    The demo's book continued 15 days: L0000002278 closed on 2026-10-09 and its last payment came on 10-11."""
    out = tmp_path / "landing"
    generate(loans=3000, start=datetime.date(2026, 10, 1), days=23, seed=20261001, out=out, inject_faults=0.0)
    closed_on = {row["loan_id"]: row["closed_on"] for _, row in clean_rows(out, "loans") if row["status"] == "closed"}
    late = [
        (row["payment_id"], row["loan_id"], row["value_date"], delivered)
        for delivered, row in clean_rows(out, "payments")
        if row["loan_id"] in closed_on
        and row["value_date"] <= closed_on[row["loan_id"]] < delivered
        and delivered > "2026-10-01"  # the first delivery carries the history before it
    ]
    backdated = [1 for delivered, row in clean_rows(out, "payments") if row["value_date"] < delivered]
    assert len(closed_on) > 100 and len(backdated) > 100  # closures and late payments both happen
    assert late == []
