"""Least-privilege database roles and the row-level security of the work queue (decision 005).

`apply_access_policies(conn)` is the one entry point. `arrears db init` runs it (through
`init_schema`), and the pipeline runs it again after every `dbt build`, because dbt re-creates
`marts.fct_work_queue` and a new table carries none of the old one's grants, policies or views.
It is idempotent and cheap when nothing changed: catalogue changes that lock a table (owner,
row-security flags, policies, views) are made only when missing. See docs/security.md and
docs/decisions/005-least-privilege.md.

Roles are shared by every database of a PostgreSQL server; everything else (grants, policies,
the team mapping) belongs to the current database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from psycopg import errors, sql

from arrears.agencies import AGENCIES_FILE, load_agencies
from arrears.errors import ArrearsError
from arrears.settings import CONFIG_DIR

if TYPE_CHECKING:
    import psycopg

TEAMS_FILE = CONFIG_DIR / "teams.yml"

PIPELINE = "arrears_pipeline"
READER = "arrears_reader"
COMPLIANCE = "arrears_compliance"
# Every team role is a member of this group; the group holds the team roles' shared grants.
TEAMS_GROUP = "arrears_teams"
TEAM_ROLE_PREFIX = "arrears_team_"

SECURITY_SCHEMA = "security"  # the team mapping; pipeline-owned, read by team roles for the policy
QUEUES_SCHEMA = "queues"  # one security_invoker view per team over the work queue
WORK_QUEUE = ("marts", "fct_work_queue")
COMPLIANCE_MARTS = (
    "fct_compliance_violations",
    "agg_compliance_violations_daily",
    "fct_complaint_attributions",
    "agg_complaints_daily",
    "agg_complaints_monthly",
)
# The schemas of the data (created by `schema.init_schema`); nobody but the pipeline may use raw, pii or staging.
SCHEMAS = ("raw", "pii", "audit", "staging", "stored", "intermediate", "marts", "seeds")
# Schemas whose objects the pipeline owns.
OWNED_SCHEMAS = (*SCHEMAS, SECURITY_SCHEMA, QUEUES_SCHEMA)

# The pipeline connects as itself: LOGIN, with a password only where the server asks for one
# (the embedded warehouse trusts 127.0.0.1). The others are group roles people are granted.
ROLE_ATTRIBUTES = {
    PIPELINE: "login nosuperuser nobypassrls nocreatedb nocreaterole noreplication inherit",
    READER: "nologin nosuperuser nobypassrls nocreatedb nocreaterole noreplication inherit",
    COMPLIANCE: "nologin nosuperuser nobypassrls nocreatedb nocreaterole noreplication inherit",
    TEAMS_GROUP: "nologin nosuperuser nobypassrls nocreatedb nocreaterole noreplication inherit",
}
TEAM_ROLE_ATTRIBUTES = ROLE_ATTRIBUTES[TEAMS_GROUP]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class TeamRole:
    """One collector team's database role and the work-queue team_id values it may read."""

    key: str  # e.g. early, agency_acme: the view name in schema queues
    team_ids: tuple[str, ...]

    @property
    def role(self) -> str:
        """The database role, e.g. arrears_team_early."""
        return TEAM_ROLE_PREFIX + self.key


def _checked_name(value: object, where: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ArrearsError(f"{where}: {value!r} is not a team name (lowercase letters, digits, _; at most 40)")
    return value


def load_team_roles(path: Path = TEAMS_FILE, agencies_path: Path = AGENCIES_FILE) -> list[TeamRole]:
    """The team roles: teams.yml's teams in file order, then one per agency of the agencies file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ArrearsError(f"cannot read {path}: {err}") from err
    if "agencies" in data:
        raise ArrearsError(f"{path.name}: agencies are listed in {agencies_path.name} now, not under `agencies`")
    teams = [_checked_name(team, f"{path.name} teams") for team in data.get("teams") or []]
    agencies = [agency.agency_id for agency in load_agencies(agencies_path)]
    default = data.get("agency_default") or None
    if default is not None and default not in agencies:
        raise ArrearsError(f"{path.name}: agency_default {default!r} is not one of the agencies {agencies}")
    if "agency" in teams:
        raise ArrearsError(f"{path.name}: list outside agencies under `agencies`, not `agency` under `teams`")
    roles = [TeamRole(key=team, team_ids=(team,)) for team in teams]
    for agency in agencies:
        team_ids = (f"agency:{agency}", "agency") if agency == default else (f"agency:{agency}",)
        roles.append(TeamRole(key=f"agency_{agency}", team_ids=team_ids))
    keys = [role.key for role in roles]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ArrearsError(f"{path.name}: teams listed twice: {', '.join(duplicates)}")
    return roles


def apply_access_policies(conn: psycopg.Connection, team_roles: list[TeamRole] | None = None) -> None:
    """Create the roles and (re)apply every grant, default privilege and the work queue's row security.

    Run it as a superuser (or a role with CREATEROLE that is a member of arrears_pipeline) the
    first time; afterwards arrears_pipeline itself may re-run it. Skips the work-queue part
    cleanly while the mart does not exist yet.
    """
    roles = load_team_roles() if team_roles is None else team_roles
    with conn.transaction():
        # Serialise with other initialisations of this database: concurrent GRANTs on one object
        # fail with "tuple concurrently updated".
        conn.execute("select pg_advisory_xact_lock(hashtext('arrears.access_policies'))")
        ensure_roles(conn, roles)
        _grant_database(conn)
        for schema in (SECURITY_SCHEMA, QUEUES_SCHEMA):
            # `create schema if not exists` checks CREATE on the database even when the schema exists.
            if _schema_missing(conn, schema):
                conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
        conn.execute(TEAM_MAPPING_DDL)
        _own_everything(conn)
        _grant_schemas(conn)
        _grant_default_privileges(conn)
        _write_team_mapping(conn, roles)
        if _relation_exists(conn, *WORK_QUEUE):
            _secure_work_queue(conn, roles)


# --- roles (server-wide) ---------------------------------------------------------------------


def ensure_roles(conn: psycopg.Connection, team_roles: list[TeamRole]) -> None:
    """Create any missing arrears role and fix attributes and memberships that drifted."""
    wanted = dict(ROLE_ATTRIBUTES)
    wanted.update({team.role: TEAM_ROLE_ATTRIBUTES for team in team_roles})
    existing = {
        row[0]: row[1:]
        for row in conn.execute(
            "select rolname, rolsuper, rolbypassrls, rolcanlogin from pg_roles where rolname = any(%s)",
            (list(wanted),),
        ).fetchall()
    }
    for role, attributes in wanted.items():
        login = " login " in f" {attributes} "
        if role not in existing:
            _create_role(conn, role, attributes)
        elif existing[role] != (False, False, login):
            conn.execute(sql.SQL("alter role {} " + attributes).format(sql.Identifier(role)))
    members = {
        row[0]
        for row in conn.execute(
            """select m.rolname from pg_auth_members am
               join pg_roles g on g.oid = am.roleid join pg_roles m on m.oid = am.member
               where g.rolname = %s""",
            (TEAMS_GROUP,),
        ).fetchall()
    }
    for team in team_roles:
        if team.role not in members:
            _ignoring_races(
                conn, sql.SQL("grant {} to {}").format(sql.Identifier(TEAMS_GROUP), sql.Identifier(team.role))
            )


def _create_role(conn: psycopg.Connection, role: str, attributes: str) -> None:
    try:
        _ignoring_races(conn, sql.SQL("create role {} " + attributes).format(sql.Identifier(role)))
    except errors.InsufficientPrivilege as err:
        raise ArrearsError(
            f"cannot create database role {role}: run `arrears db init` once as a superuser "
            "or a role with CREATEROLE (see docs/security.md)"
        ) from err


def _ignoring_races(conn: psycopg.Connection, statement: sql.Composed) -> None:
    """Run a server-wide statement another database's initialisation may be running at the same moment."""
    try:
        with conn.transaction():  # a savepoint: the race must not abort the caller's transaction
            conn.execute(statement)
    except (errors.DuplicateObject, errors.UniqueViolation):
        pass  # the other session created it first: the end state is the one we wanted


# --- ownership and grants (this database) ----------------------------------------------------------


def _own_everything(conn: psycopg.Connection) -> None:
    """Make arrears_pipeline own the schemas and every table, view and sequence in them.

    dbt and the loader may run as another user (the embedded superuser); handing ownership over
    after each build keeps "the pipeline owns and writes" true whoever ran it. Only objects owned
    by someone else are altered, so a second run takes no table locks.
    """
    pipeline = sql.Identifier(PIPELINE)
    schemas = conn.execute(
        "select nspname from pg_namespace where nspname = any(%s) and pg_get_userbyid(nspowner) <> %s",
        (list(OWNED_SCHEMAS), PIPELINE),
    ).fetchall()
    for (schema,) in schemas:
        conn.execute(sql.SQL("alter schema {} owner to {}").format(sql.Identifier(schema), pipeline))
    kinds = {"r": "table", "p": "table", "v": "view", "m": "materialized view", "S": "sequence", "f": "foreign table"}
    relations = conn.execute(
        """select n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = any(%s) and c.relkind = any(%s) and pg_get_userbyid(c.relowner) <> %s
             -- a sequence owned by a column follows its table (a partitioned table depends on itself)
             and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype in ('a', 'i')
                             and d.classid = 'pg_class'::regclass and d.refclassid = 'pg_class'::regclass
                             and d.refobjid <> c.oid)""",
        (list(OWNED_SCHEMAS), list(kinds), PIPELINE),
    ).fetchall()
    for schema, name, kind in relations:
        conn.execute(
            sql.SQL("alter {} {} owner to {}").format(sql.SQL(kinds[kind]), sql.Identifier(schema, name), pipeline)
        )
    # Functions too (the loader's, in audit): the pipeline re-creates them with `create or replace`.
    functions = conn.execute(
        """select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where n.nspname = any(%s) and pg_get_userbyid(p.proowner) <> %s""",
        (list(OWNED_SCHEMAS), PIPELINE),
    ).fetchall()
    for (signature,) in functions:
        # regprocedure's text is already a quoted, schema-qualified signature.
        conn.execute(sql.SQL("alter function {} owner to {}").format(sql.SQL(signature), pipeline))


def _grant_database(conn: psycopg.Connection) -> None:
    """The pipeline may create schemas in this database (dbt creates its schemas when missing)."""
    database = str(conn.execute("select current_database()").fetchone()[0])  # type: ignore[index]
    # One privilege per check: with a list, has_database_privilege is true when ANY is held.
    row = conn.execute("select has_database_privilege(%s, %s, 'CREATE')", (PIPELINE, database)).fetchone()
    if not (row and row[0]):
        conn.execute(
            sql.SQL("grant create on database {} to {}").format(sql.Identifier(database), sql.Identifier(PIPELINE))
        )


def _schema_missing(conn: psycopg.Connection, schema: str) -> bool:
    return conn.execute("select 1 from pg_namespace where nspname = %s", (schema,)).fetchone() is None


def _grant_schemas(conn: psycopg.Connection) -> None:
    """The reader sees marts; compliance sees audit and its marts; teams only their queue (granted later).

    Every GRANT and REVOKE is issued only where the catalogue differs: each one rewrites the
    object's catalogue row, and a concurrent dbt build altering the same table would then fail
    with "tuple concurrently updated".
    """
    everyone = ["public", READER, COMPLIANCE, TEAMS_GROUP]
    # Take back anything granted by hand: nobody but the pipeline may even look up names in the
    # private schemas, and only compliance reads audit.
    for schema in ("raw", "pii", "staging", "stored", "intermediate", "seeds", "audit", SECURITY_SCHEMA, QUEUES_SCHEMA):
        revoked = [role for role in everyone if not (schema == "audit" and role == COMPLIANCE)]
        if schema in (SECURITY_SCHEMA, QUEUES_SCHEMA):
            revoked = ["public"]
        _revoke_from_schema(conn, schema, revoked, tables=schema not in (SECURITY_SCHEMA, QUEUES_SCHEMA))

    _grant_schema_usage(conn, "marts", [READER, COMPLIANCE, TEAMS_GROUP])
    _grant_select(conn, _relations_in(conn, "marts"), READER)
    _grant_schema_usage(conn, "audit", [COMPLIANCE])
    _grant_select(conn, _relations_in(conn, "audit"), COMPLIANCE)
    _grant_select(
        conn, [("marts", mart) for mart in COMPLIANCE_MARTS if _relation_exists(conn, "marts", mart)], COMPLIANCE
    )
    _grant_schema_usage(conn, SECURITY_SCHEMA, [TEAMS_GROUP])
    _grant_schema_usage(conn, QUEUES_SCHEMA, [TEAMS_GROUP])
    _grant_select(conn, [(SECURITY_SCHEMA, "team_roles")], TEAMS_GROUP)


# An aclexplode() entry granted to one of %(roles)s; PUBLIC is grantee 0.
_GRANTEE_IS_ONE_OF = """a.grantee in (
    select 0 where 'public' = any(%(roles)s)
    union all
    select oid from pg_roles where rolname = any(%(roles)s)
)"""


def _revoke_from_schema(conn: psycopg.Connection, schema: str, roles: list[str], tables: bool) -> None:
    grantees = sql.SQL(", ").join(sql.SQL("public") if role == "public" else sql.Identifier(role) for role in roles)
    params = {"schema": schema, "roles": roles}
    schema_granted = conn.execute(
        "select exists (select 1 from pg_namespace n, aclexplode(n.nspacl) a where n.nspname = %(schema)s and "
        + _GRANTEE_IS_ONE_OF
        + ")",
        params,
    ).fetchone()
    if schema_granted and schema_granted[0]:
        conn.execute(sql.SQL("revoke all on schema {} from {}").format(sql.Identifier(schema), grantees))
    if not tables:
        return
    granted = conn.execute(
        """select distinct n.nspname, c.relname
           from pg_class c join pg_namespace n on n.oid = c.relnamespace, aclexplode(c.relacl) a
           where n.nspname = %(schema)s and """
        + _GRANTEE_IS_ONE_OF,
        params,
    ).fetchall()
    for relation in granted:
        conn.execute(sql.SQL("revoke all on {} from {}").format(sql.Identifier(*relation), grantees))


def _grant_schema_usage(conn: psycopg.Connection, schema: str, roles: list[str]) -> None:
    for role in roles:
        row = conn.execute("select has_schema_privilege(%s, %s, 'USAGE')", (role, schema)).fetchone()
        if not (row and row[0]):
            conn.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(schema), sql.Identifier(role)))


def _relations_in(conn: psycopg.Connection, schema: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        """select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm', 'f')""",
        (schema,),
    ).fetchall()
    return [(str(namespace), str(name)) for namespace, name in rows]


def _grant_select(conn: psycopg.Connection, relations: list[tuple[str, str]], role: str) -> None:
    for schema, name in relations:
        qualified = sql.Identifier(schema, name).as_string(conn)
        row = conn.execute("select has_table_privilege(%s, %s, 'SELECT')", (role, qualified)).fetchone()
        if not (row and row[0]):
            conn.execute(sql.SQL("grant select on {} to {}").format(sql.Identifier(schema, name), sql.Identifier(role)))


def _grant_default_privileges(conn: psycopg.Connection) -> None:
    """Tables created later (dbt builds, new audit tables) are readable at once by the right role.

    Default privileges belong to the creating role, so they are set both for the pipeline and for
    the user running this (dbt may run as the embedded superuser).
    """
    current = str(conn.execute("select current_user").fetchone()[0])  # type: ignore[index]
    for creator in sorted({PIPELINE, current}):
        for schema, grantee in (("marts", READER), ("audit", COMPLIANCE)):
            present = conn.execute(
                """select exists (
                       select 1 from pg_default_acl d, aclexplode(d.defaclacl) a
                       where d.defaclrole = (select oid from pg_roles where rolname = %s)
                         and d.defaclnamespace = (select oid from pg_namespace where nspname = %s)
                         and d.defaclobjtype = 'r' and a.privilege_type = 'SELECT'
                         and a.grantee = (select oid from pg_roles where rolname = %s))""",
                (creator, schema, grantee),
            ).fetchone()
            if present and present[0]:
                continue  # re-issuing it would rewrite the pg_default_acl row
            conn.execute(
                sql.SQL("alter default privileges for role {} in schema {} grant select on tables to {}").format(
                    sql.Identifier(creator), sql.Identifier(schema), sql.Identifier(grantee)
                )
            )


TEAM_MAPPING_DDL = """create table if not exists security.team_roles (
    role_name text not null,
    team_id text not null,
    primary key (role_name, team_id)
)"""


def _write_team_mapping(conn: psycopg.Connection, team_roles: list[TeamRole]) -> None:
    """Fill security.team_roles (role_name, team_id): the rows of the work queue each team role reads."""
    wanted = sorted((team.role, team_id) for team in team_roles for team_id in team.team_ids)
    current = sorted(
        (str(role), str(team)) for role, team in conn.execute("select role_name, team_id from security.team_roles")
    )
    if wanted != current:
        conn.execute("delete from security.team_roles")
        with conn.cursor() as cursor:
            cursor.executemany("insert into security.team_roles (role_name, team_id) values (%s, %s)", wanted)


# --- the work queue's row-level security ----------------------------------------------------------

# A row is visible to whoever is (or is granted, with inherit) a team role mapped to its team_id.
# pg_has_role rather than `role_name = current_user` so that people log in as themselves.
# Joining pg_roles skips mapping rows whose role was dropped by hand (pg_has_role would raise).
TEAM_POLICY_CONDITION = """team_id in (
    select tr.team_id
    from security.team_roles as tr
    inner join pg_catalog.pg_roles as r on r.rolname = tr.role_name
    where pg_catalog.pg_has_role(current_user, r.oid, 'USAGE')
)"""


def _secure_work_queue(conn: psycopg.Connection, team_roles: list[TeamRole]) -> None:
    """Row security (forced, so the owner is bound too), the policies, the grants and the team views."""
    table = sql.Identifier(*WORK_QUEUE)
    flags = conn.execute(
        """select c.relrowsecurity, c.relforcerowsecurity from pg_class c
           join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and c.relname = %s""",
        WORK_QUEUE,
    ).fetchone()
    if flags != (True, True):
        conn.execute(sql.SQL("alter table {} enable row level security").format(table))
        conn.execute(sql.SQL("alter table {} force row level security").format(table))
    policies = {
        # The owner is bound by FORCE too: it reads and rewrites every row through an explicit policy.
        "pipeline_all_rows": sql.SQL("for all to {} using (true) with check (true)").format(sql.Identifier(PIPELINE)),
        # The reader role reads every mart in full; the queue carries no personal data.
        "reader_all_rows": sql.SQL("for select to {} using (true)").format(sql.Identifier(READER)),
        "team_own_rows": sql.SQL("for select to {} using (" + TEAM_POLICY_CONDITION + ")").format(
            sql.Identifier(TEAMS_GROUP)
        ),
    }
    existing = {
        row[0]
        for row in conn.execute(
            "select policyname from pg_policies where schemaname = %s and tablename = %s", WORK_QUEUE
        ).fetchall()
    }
    for name, body in policies.items():
        if name not in existing:
            conn.execute(sql.SQL("create policy {} on {} ").format(sql.Identifier(name), table) + body)
    _grant_select(conn, [WORK_QUEUE], READER)
    _grant_select(conn, [WORK_QUEUE], TEAMS_GROUP)
    _create_team_views(conn, team_roles)


def _create_team_views(conn: psycopg.Connection, team_roles: list[TeamRole]) -> None:
    """queues.<team>: the queue as the team sees it; security_invoker so the reader's own RLS applies.

    Without security_invoker a view reads its table as the view's owner (the pipeline, who sees
    every row), which would hand every team the whole queue.
    """
    existing = {
        row[0]
        for row in conn.execute(
            """select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where n.nspname = %s and c.relkind = 'v'""",
            (QUEUES_SCHEMA,),
        ).fetchall()
    }
    for team in team_roles:
        view = sql.Identifier(QUEUES_SCHEMA, team.key)
        if team.key not in existing:
            conn.execute(
                sql.SQL("create view {} with (security_invoker = true) as select * from {}").format(
                    view, sql.Identifier(*WORK_QUEUE)
                )
            )
            conn.execute(sql.SQL("alter view {} owner to {}").format(view, sql.Identifier(PIPELINE)))
        _grant_select(conn, [(QUEUES_SCHEMA, team.key)], team.role)


def _relation_exists(conn: psycopg.Connection, schema: str, name: str) -> bool:
    row = conn.execute("select to_regclass(%s)", (f"{schema}.{name}",)).fetchone()
    return row is not None and row[0] is not None
