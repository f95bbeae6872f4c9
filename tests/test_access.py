"""Least privilege, proven by connecting as each role (decision 005).

Every test logs in to a real PostgreSQL as a person who was granted one arrears role (or as the
pipeline itself) and checks what that login can and cannot read. The work-queue mart is created
here with the columns of business rules §8 when the dbt model is not part of the test.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import errors
from psycopg.conninfo import make_conninfo

from arrears.agencies import load_agencies
from arrears.contract.ddl import ensure_partition
from arrears.errors import ArrearsError
from arrears.warehouse.roles import (
    COMPLIANCE,
    PIPELINE,
    READER,
    TeamRole,
    apply_access_policies,
    load_team_roles,
)
from tests.support.cli import run_cli
from tests.support.marts import mart_ddl

TEAMS_YML = """
teams: [early, mid, legal]
agency_default: acme
"""
AGENCIES_CSV = "agency_id,share,capacity,holding_days,active\nacme,0.5,100,90,true\nsummit,0.5,100,,false\n"

# (team_id, loan_id): three in-house teams, named and unnamed agency rows, and held rows.
QUEUE_ROWS = [
    ("early", "L-E1"),
    ("early", "L-E2"),
    ("mid", "L-M1"),
    ("legal", "L-G1"),
    ("agency:acme", "L-A1"),
    ("agency", "L-A2"),
    ("agency:summit", "L-S1"),
    (None, "L-H1"),
    (None, "L-H2"),
]

Login = Callable[[str], psycopg.Connection]


@pytest.fixture()
def team_roles(tmp_path: Path) -> list[TeamRole]:
    """The team roles of a small teams.yml written for the test."""
    path = tmp_path / "teams.yml"
    path.write_text(TEAMS_YML, encoding="utf-8")
    agencies = tmp_path / "agencies.csv"
    agencies.write_text(AGENCIES_CSV, encoding="utf-8")
    return load_team_roles(path, agencies)


@pytest.fixture()
def login_as(warehouse_url: str, conn: psycopg.Connection) -> Iterator[Login]:
    """Log in as a new person granted one role (or as the pipeline, which logs in as itself)."""
    people: list[str] = []
    opened: list[psycopg.Connection] = []

    def login(role: str) -> psycopg.Connection:
        user = role
        if role != PIPELINE:
            user = f"arrears_test_person_{uuid.uuid4().hex[:12]}"
            conn.execute(f'create role "{user}" login in role "{role}"')
            people.append(user)
        connection = psycopg.connect(make_conninfo(warehouse_url, user=user), autocommit=True)
        opened.append(connection)
        return connection

    yield login
    for connection in opened:
        connection.close()
    for person in people:
        conn.execute(f'drop role if exists "{person}"')


def create_work_queue(conn: psycopg.Connection) -> None:
    """marts.fct_work_queue as dbt builds it (business rules §8), created by the superuser like dbt."""
    conn.execute(mart_ddl("fct_work_queue"))
    with conn.cursor() as cursor:
        cursor.executemany(
            """insert into marts.fct_work_queue (business_date, work_date, loan_id, borrower_id, team_id,
                   allowed_channels, priority_rank, reason, dpd, bucket, overdue_amount) values
               ('2026-03-01', '2026-03-02', %s, 'B-' || %s, %s, array['call'], 1, 'r', 10, 'M1', 100.00)""",
            [(loan, loan, team) for team, loan in QUEUE_ROWS],
        )


def loans_visible(connection: psycopg.Connection, relation: str = "marts.fct_work_queue", where: str = "") -> set[str]:
    rows = connection.execute(f"select loan_id from {relation} {where}").fetchall()
    return {row[0] for row in rows}


def is_denied(connection: psycopg.Connection, query: str) -> bool:
    try:
        connection.execute(query).fetchall()
    except errors.InsufficientPrivilege:
        return True
    return False


def test_roles_are_created_by_db_init_with_least_privilege_attributes(conn: psycopg.Connection) -> None:
    # The warehouse_url fixture ran init_schema: the roles of the shipped teams.yml exist.
    roles = {
        row[0]: row[1:]
        for row in conn.execute(
            "select rolname, rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb "
            "from pg_roles where rolname like 'arrears\\_%'"
        )
    }
    assert roles[PIPELINE] == (False, False, True, False, False)
    for group in (READER, COMPLIANCE, "arrears_teams", "arrears_team_early", "arrears_team_agency_acme"):
        assert roles[group] == (False, False, False, False, False), group
    owners = {row[0] for row in conn.execute("select distinct tableowner from pg_tables where schemaname = 'pii'")}
    assert owners == {PIPELINE}


def test_reader_reads_marts_but_never_pii_raw_or_audit(conn: psycopg.Connection, login_as: Login) -> None:
    apply_access_policies(conn)
    # Created after the policies, by the superuser as dbt does: default privileges must cover it.
    conn.execute("create table marts.fct_loan_delinquency_daily as select 'L1'::text as loan_id, 3 as dpd")
    conn.execute(
        "insert into audit.quarantine (business_date, entity, file, line_no, reason) values (now(), 'x', 'f', 1, 'bad')"
    )
    reader = login_as(READER)

    assert reader.execute("select loan_id, dpd from marts.fct_loan_delinquency_daily").fetchall() == [("L1", 3)]
    assert is_denied(reader, "select * from pii.borrowers")
    assert is_denied(reader, "select * from pii.contact_points")
    assert is_denied(reader, "select * from raw.payments")
    assert is_denied(reader, "select * from audit.quarantine")
    assert is_denied(reader, "insert into marts.fct_loan_delinquency_daily values ('L2', 1)")


def test_new_mart_built_by_the_pipeline_is_readable_by_the_reader(conn: psycopg.Connection, login_as: Login) -> None:
    pipeline = login_as(PIPELINE)
    pipeline.execute("create table marts.agg_roll_rates_monthly as select 1 as loans")
    assert login_as(READER).execute("select loans from marts.agg_roll_rates_monthly").fetchall() == [(1,)]


def test_compliance_reads_audit_and_violation_marts_but_not_pii(conn: psycopg.Connection, login_as: Login) -> None:
    conn.execute(
        "create table marts.fct_compliance_violations as select 'A1'::text as action_id, 'window'::text as rule"
    )
    conn.execute("create table marts.fct_loan_delinquency_daily as select 'L1'::text as loan_id")
    conn.execute(
        "insert into audit.quarantine (business_date, entity, file, line_no, reason) values (now(), 'x', 'f', 1, 'bad')"
    )
    apply_access_policies(conn)
    compliance = login_as(COMPLIANCE)

    assert compliance.execute("select action_id, rule from marts.fct_compliance_violations").fetchall() == [
        ("A1", "window")
    ]
    assert compliance.execute("select count(*) from audit.quarantine").fetchone() == (1,)
    assert is_denied(compliance, "select * from pii.borrowers")
    assert is_denied(compliance, "select * from raw.loans")
    assert is_denied(compliance, "select * from marts.fct_loan_delinquency_daily")
    assert is_denied(compliance, "delete from audit.quarantine")


def test_each_team_sees_only_its_own_work_queue_rows(
    conn: psycopg.Connection, login_as: Login, team_roles: list[TeamRole]
) -> None:
    create_work_queue(conn)
    apply_access_policies(conn, team_roles)
    early = login_as("arrears_team_early")
    mid = login_as("arrears_team_mid")
    acme = login_as("arrears_team_agency_acme")
    summit = login_as("arrears_team_agency_summit")

    assert loans_visible(early) == {"L-E1", "L-E2"}
    assert loans_visible(mid) == {"L-M1"}
    # The unnamed `agency` rows go to the configured default agency only.
    assert loans_visible(acme) == {"L-A1", "L-A2"}
    assert loans_visible(summit) == {"L-S1"}
    # Asking for another team's rows, or the held ones, by name still returns nothing.
    assert loans_visible(early, where="where team_id = 'mid' or team_id is null") == set()
    assert early.execute("select count(*) from marts.fct_work_queue where loan_id = 'L-M1'").fetchone() == (0,)
    # The team's view is the same rows (security_invoker: the caller's policy, not the owner's).
    assert loans_visible(early, "queues.early") == {"L-E1", "L-E2"}
    assert is_denied(early, "select * from queues.mid")
    # A team reads its queue and nothing else.
    assert is_denied(early, "select * from pii.borrowers")
    assert is_denied(early, "select * from audit.quarantine")
    assert is_denied(early, "update marts.fct_work_queue set team_id = 'early'")


def test_reader_sees_the_whole_queue_and_a_role_without_a_team_sees_none(
    conn: psycopg.Connection, login_as: Login, team_roles: list[TeamRole]
) -> None:
    create_work_queue(conn)
    apply_access_policies(conn, team_roles)
    assert len(loans_visible(login_as(READER))) == len(QUEUE_ROWS)
    # A team removed from teams.yml keeps its role but loses its rows.
    apply_access_policies(conn, [role for role in team_roles if role.key != "mid"])
    assert loans_visible(login_as("arrears_team_mid")) == set()
    assert loans_visible(login_as("arrears_team_early")) == {"L-E1", "L-E2"}


def test_pipeline_is_no_superuser_and_forced_row_security_binds_the_owner_too(
    conn: psycopg.Connection, login_as: Login, team_roles: list[TeamRole]
) -> None:
    create_work_queue(conn)
    apply_access_policies(conn, team_roles)
    owner, forced = conn.execute(
        "select pg_get_userbyid(relowner), relforcerowsecurity from pg_class"
        " where oid = 'marts.fct_work_queue'::regclass"
    ).fetchone()  # type: ignore[misc]
    assert (owner, forced) == (PIPELINE, True)
    pipeline = login_as(PIPELINE)
    attributes = pipeline.execute("select rolsuper, rolbypassrls from pg_roles where rolname = current_user")
    assert attributes.fetchone() == (False, False)
    assert len(loans_visible(pipeline)) == len(QUEUE_ROWS)  # through its explicit policy
    # The pipeline writes the landing tables it owns.
    ensure_partition(pipeline, "payments", dt.date(2026, 11, 21))
    pipeline.execute(
        "insert into raw.payments (payment_id, _business_date, _file, _line, _loaded_at)"
        " values ('P1', '2026-11-21', 'f', 1, now())"
    )

    # Without its policy the owner sees nothing: FORCE applies row security to the owner as well.
    with pipeline.transaction(force_rollback=True):
        pipeline.execute("drop policy pipeline_all_rows on marts.fct_work_queue")
        assert loans_visible(pipeline) == set()
    assert len(loans_visible(pipeline)) == len(QUEUE_ROWS)


def access_state(conn: psycopg.Connection) -> list[object]:
    """Everything apply_access_policies decides: ownership, ACLs, default ACLs, policies, roles, mapping."""
    queries = [
        """select n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relacl::text,
                  c.relrowsecurity, c.relforcerowsecurity
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema' order by 1, 2""",
        "select nspname, pg_get_userbyid(nspowner), nspacl::text from pg_namespace order by 1",
        """select pg_get_userbyid(defaclrole), defaclnamespace::regnamespace::text, defaclacl::text
           from pg_default_acl order by 1, 2""",
        """select schemaname, tablename, policyname, roles::text, cmd, qual, with_check
           from pg_policies order by 1, 2, 3""",
        """select rolname, rolsuper, rolbypassrls, rolcanlogin,
                  array(select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid
                        where m.member = r.oid order by 1)::text
           from pg_roles r where rolname like 'arrears\\_%' and rolname not like 'arrears\\_test\\_%' order by 1""",
        "select role_name, team_id from security.team_roles order by 1, 2",
    ]
    return [conn.execute(query).fetchall() for query in queries]


def test_apply_access_policies_is_idempotent(conn: psycopg.Connection, team_roles: list[TeamRole]) -> None:
    create_work_queue(conn)
    apply_access_policies(conn, team_roles)
    first = access_state(conn)
    apply_access_policies(conn, team_roles)
    assert access_state(conn) == first
    assert len(first[3]) == 3  # three policies on the queue, not six


def test_a_second_run_rewrites_no_catalogue_row(conn: psycopg.Connection, team_roles: list[TeamRole]) -> None:
    # A GRANT that changes nothing still rewrites the object's row; a concurrent dbt build altering
    # the same table would then fail with "tuple concurrently updated". xmin shows any rewrite.
    create_work_queue(conn)
    conn.execute("create table marts.fct_loan_delinquency_daily as select 1 as dpd")
    apply_access_policies(conn, team_roles)
    versions = """select 'class', c.oid::regclass::text, c.xmin::text from pg_class c
                  where c.relnamespace::regnamespace::text in ('raw', 'pii', 'audit', 'marts', 'security', 'queues')
                  union all select 'namespace', nspname, xmin::text from pg_namespace
                  union all select 'default acl', defaclnamespace::regnamespace::text, xmin::text from pg_default_acl
                  union all select 'role', rolname, xmin::text from pg_authid where rolname like 'arrears\\_%'
                  order by 1, 2"""
    before = conn.execute(versions).fetchall()
    apply_access_policies(conn, team_roles)
    assert conn.execute(versions).fetchall() == before


def test_privileges_granted_by_hand_are_taken_back(conn: psycopg.Connection, login_as: Login) -> None:
    conn.execute("grant usage on schema pii to arrears_reader")
    conn.execute("grant select on pii.borrowers to public")
    conn.execute("grant usage on schema audit to arrears_teams")
    apply_access_policies(conn)
    assert is_denied(login_as(READER), "select * from pii.borrowers")
    assert is_denied(login_as("arrears_team_early"), "select * from audit.quarantine")
    assert conn.execute("select relacl::text from pg_class where oid = 'pii.borrowers'::regclass").fetchone() == (
        "{arrears_pipeline=arwdDxt/arrears_pipeline}",
    )


def test_policies_come_back_after_dbt_recreates_the_queue(
    conn: psycopg.Connection, login_as: Login, team_roles: list[TeamRole]
) -> None:
    create_work_queue(conn)
    apply_access_policies(conn, team_roles)
    state = access_state(conn)
    early = login_as("arrears_team_early")

    # What a dbt full refresh does: drop the relation (and its dependent views), create a new one.
    conn.execute("drop table marts.fct_work_queue cascade")
    create_work_queue(conn)
    # Between the build and the re-application the new table shows a team nothing at all.
    assert is_denied(early, "select * from marts.fct_work_queue")

    apply_access_policies(conn, team_roles)
    assert loans_visible(early) == {"L-E1", "L-E2"}
    assert loans_visible(early, "queues.early") == {"L-E1", "L-E2"}
    assert access_state(conn) == state


def test_init_without_the_queue_mart_skips_it_and_db_init_reruns_cleanly(conn: psycopg.Connection) -> None:
    assert conn.execute("select to_regclass('marts.fct_work_queue')").fetchone() == (None,)
    first = access_state(conn)
    for _ in range(2):
        run_cli("db", "init", check=True)
    assert access_state(conn) == first


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("teams: [early]\nagency_default: zenith\n", "agency_default 'zenith'"),
        ("teams: [Early-Team]\n", "not a team name"),
        ("teams: [early, early]\n", "listed twice"),
        ("teams: [early, agency]\n", "under `agencies`"),
        ("teams: [early]\nagencies: [acme]\n", "agencies.csv now"),
    ],
)
def test_bad_teams_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "teams.yml"
    path.write_text(text, encoding="utf-8")
    agencies = tmp_path / "agencies.csv"
    agencies.write_text(AGENCIES_CSV, encoding="utf-8")
    with pytest.raises(ArrearsError, match=message):
        load_team_roles(path, agencies)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("agency_id,share,capacity,active\nacme,1,10,true\n", "missing column"),
        ("agency_id,share,capacity,holding_days,active\nAcme!,1,10,90,true\n", "line 2: agency_id 'Acme!'"),
        ("agency_id,share,capacity,holding_days,active\nacme,half,10,90,true\n", "share 'half' is not a number"),
        ("agency_id,share,capacity,holding_days,active\nacme,1,10,90,yes\n", "active must be true or false"),
        ("agency_id,share,capacity,holding_days,active\nacme,1,10,,true\nacme,1,5,,true\n", "listed twice"),
    ],
)
def test_bad_agencies_file_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    agencies = tmp_path / "agencies.csv"
    agencies.write_text(text, encoding="utf-8")
    with pytest.raises(ArrearsError, match=message):
        load_agencies(agencies)


def test_shipped_teams_config_names_every_routed_team() -> None:
    roles = {role.role: role.team_ids for role in load_team_roles()}
    for team in ("predue", "early", "mid", "field", "legal"):
        assert roles[f"arrears_team_{team}"] == (team,)
    # One role per agency of the agencies file, reading only the loans placed with it.
    for agency in load_agencies():
        assert roles[f"arrears_team_agency_{agency.agency_id}"] == (agency.team_id,)
    assert not any("agency" in team_ids for team_ids in roles.values())  # loans placed with nobody: no agency


def test_the_pipeline_reapplies_the_policies_itself_after_building_the_queue(
    conn: psycopg.Connection, login_as: Login, team_roles: list[TeamRole]
) -> None:
    # dbt running as arrears_pipeline: the new table is the pipeline's from the start.
    apply_access_policies(conn, team_roles)
    pipeline = login_as(PIPELINE)
    pipeline.execute("create schema if not exists marts")  # dbt's first statement for each schema
    create_work_queue(pipeline)
    apply_access_policies(pipeline, team_roles)
    assert loans_visible(login_as("arrears_team_legal")) == {"L-G1"}
    assert len(loans_visible(pipeline)) == len(QUEUE_ROWS)


def test_a_new_team_without_the_right_to_create_roles_is_one_clear_error(
    conn: psycopg.Connection, login_as: Login, team_roles: list[TeamRole]
) -> None:
    newcomer = TeamRole(key=f"t{uuid.uuid4().hex[:10]}", team_ids=("newcomer",))
    with pytest.raises(ArrearsError, match="cannot create database role arrears_team_t.*CREATEROLE"):
        apply_access_policies(login_as(PIPELINE), [*team_roles, newcomer])
    assert conn.execute("select count(*) from pg_roles where rolname = %s", (newcomer.role,)).fetchone() == (0,)
