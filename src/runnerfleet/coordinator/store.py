"""The coordinator's SQLite state: schema migrations, settings, users, runners and managers.

One connection guarded by a lock serves every handler thread; SQLite in WAL mode keeps the file
consistent across crashes and restarts. Later features add tables by appending to `MIGRATIONS`
and methods (or mixins) that use `transaction()`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from runnerfleet.coordinator import tokens

DB_NAME = "coordinator.sqlite3"
LEGACY_SYSTEM_XID = "<legacy>"

# Each entry is one schema version; never edit a released entry, append a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL UNIQUE,
        admin INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE TABLE personal_access_tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        token_sha256 TEXT NOT NULL UNIQUE,
        scopes TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE groups (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        parent_id INTEGER REFERENCES groups(id) ON DELETE CASCADE,
        runners_token TEXT,
        allow_runner_registration_token INTEGER NOT NULL DEFAULT 1,
        created_at REAL NOT NULL
    );
    CREATE TABLE projects (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        group_id INTEGER REFERENCES groups(id) ON DELETE CASCADE,
        runners_token TEXT,
        created_at REAL NOT NULL
    );
    CREATE TABLE runners (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        token_sha256 TEXT NOT NULL UNIQUE,
        token_expires_at REAL,
        runner_type TEXT NOT NULL,
        registration_type TEXT NOT NULL,
        description TEXT,
        maintenance_note TEXT,
        name TEXT,
        active INTEGER NOT NULL DEFAULT 1,
        locked INTEGER NOT NULL DEFAULT 0,
        run_untagged INTEGER NOT NULL DEFAULT 1,
        access_level TEXT NOT NULL DEFAULT 'not_protected',
        maximum_timeout INTEGER,
        tag_list TEXT NOT NULL DEFAULT '[]',
        creation_state TEXT NOT NULL DEFAULT 'finished',
        creator_id INTEGER,
        contacted_at REAL,
        ip_address TEXT,
        created_at REAL NOT NULL
    );
    CREATE TABLE runner_namespaces (
        runner_id INTEGER NOT NULL REFERENCES runners(id) ON DELETE CASCADE,
        group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        PRIMARY KEY (runner_id, group_id)
    );
    CREATE TABLE runner_projects (
        runner_id INTEGER NOT NULL REFERENCES runners(id) ON DELETE CASCADE,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        PRIMARY KEY (runner_id, project_id)
    );
    CREATE TABLE runner_managers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        runner_id INTEGER NOT NULL REFERENCES runners(id) ON DELETE CASCADE,
        system_xid TEXT NOT NULL,
        info TEXT NOT NULL DEFAULT '{}',
        ip_address TEXT,
        contacted_at REAL,
        created_at REAL NOT NULL,
        UNIQUE (runner_id, system_xid)
    );
    """,
    # Jobs: projects get a full path and a bare repository, pipelines group jobs; a job keeps
    # its enqueue request (`spec`) and everything the runner reported about it.
    """
    ALTER TABLE groups ADD COLUMN full_path TEXT;
    ALTER TABLE projects ADD COLUMN full_path TEXT;
    CREATE UNIQUE INDEX projects_full_path ON projects(full_path);
    CREATE TABLE pipelines (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        ref TEXT NOT NULL,
        sha TEXT,
        created_at REAL NOT NULL
    );
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        pipeline_id INTEGER NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        stage TEXT NOT NULL,
        ref TEXT NOT NULL,
        ref_type TEXT NOT NULL,
        protected INTEGER NOT NULL DEFAULT 0,
        sha TEXT,
        before_sha TEXT NOT NULL,
        tag_list TEXT NOT NULL DEFAULT '[]',
        timeout INTEGER NOT NULL,
        spec TEXT NOT NULL DEFAULT '{}',
        token TEXT NOT NULL,
        token_sha256 TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        failure_reason TEXT,
        exit_code INTEGER,
        runner_id INTEGER,
        runner_manager_id INTEGER,
        system_xid TEXT,
        debug_trace INTEGER NOT NULL DEFAULT 0,
        output_checksum TEXT,
        output_bytesize INTEGER,
        pending_state TEXT,
        pending_state_at REAL,
        updates TEXT NOT NULL DEFAULT '[]',
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX jobs_status ON jobs(status, id);
    """,
    # Pipelines from .gitlab-ci.yml (pipelines.py): a pipeline remembers its source and stages;
    # a compiled job keeps its CI attributes (when, allow_failure, needs, stage index, retried).
    """
    ALTER TABLE pipelines ADD COLUMN source TEXT;
    ALTER TABLE pipelines ADD COLUMN stages TEXT;
    ALTER TABLE jobs ADD COLUMN ci TEXT;
    """,
    # Delayed jobs (pipelines.py): a `scheduled` job's due time, so a restarted coordinator
    # still enqueues it when due.
    """
    ALTER TABLE jobs ADD COLUMN scheduled_at REAL;
    CREATE INDEX jobs_scheduled ON jobs(status, scheduled_at);
    """,
]

# Defaults of the admin settings the coordinator honours (`PUT /-/settings`).
DEFAULT_SETTINGS: dict[str, Any] = {
    # GitLab 17.0+ defaults this to false; a local coordinator is for testing legacy
    # registration as much as the new workflow, so it starts enabled.
    "allow_runner_registration_token": True,
    "runner_token_expiration_interval": None,
    "group_runner_token_expiration_interval": None,
    "project_runner_token_expiration_interval": None,
}


@dataclass
class Runner:
    id: int
    runner_type: str
    registration_type: str
    description: str | None
    maintenance_note: str | None
    name: str | None
    active: bool
    locked: bool
    run_untagged: bool
    access_level: str
    maximum_timeout: int | None
    tag_list: list[str]
    creation_state: str
    contacted_at: float | None
    ip_address: str | None
    created_at: float
    token_expires_at: float | None
    group_ids: list[int] = field(default_factory=list)
    project_ids: list[int] = field(default_factory=list)


@dataclass
class RunnerManager:
    id: int
    runner_id: int
    system_xid: str
    info: dict[str, Any]
    ip_address: str | None
    contacted_at: float | None
    created_at: float


# Columns a caller may set when creating or updating a runner.
RUNNER_ATTRIBUTES = (
    "description",
    "maintenance_note",
    "name",
    "active",
    "locked",
    "run_untagged",
    "access_level",
    "maximum_timeout",
    "tag_list",
    "creation_state",
    "creator_id",
)


_Row = TypeVar("_Row")
_PLAIN, _JSON, _BOOL = 0, 1, 2
# (cls, the row's column names, json_columns, bool_columns) → (field, kind) per field with a
# column: the dataclass introspection runs once per query shape, not per row (rows are decoded
# on the request hot path).
_PLANS: dict[tuple[Any, ...], tuple[tuple[str, int], ...]] = {}


def _plan(cls: type[Any], columns: tuple[str, ...], json_columns: Collection[str],
          bool_columns: Collection[str]) -> tuple[tuple[str, int], ...]:
    return tuple(
        (f.name, _JSON if f.name in json_columns else _BOOL if f.name in bool_columns else _PLAIN)
        for f in dataclasses.fields(cls) if f.init and f.name in columns
    )


def from_row(cls: type[_Row], row: sqlite3.Row, *, json_columns: Collection[str] = (),
             bool_columns: Collection[str] = ()) -> _Row:
    """The dataclass `cls` from the row's columns of its field names (JSON text decoded, NULL
    JSON as None, 0/1 as bools); fields without a column keep their defaults."""
    key = (cls, tuple(row.keys()), tuple(json_columns), tuple(bool_columns))
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _plan(cls, key[1], json_columns, bool_columns)
    values: dict[str, Any] = {}
    for name, kind in plan:
        value = row[name]
        if kind == _JSON:
            value = None if value is None else json.loads(value)
        elif kind == _BOOL:
            value = bool(value)
        values[name] = value
    return cls(**values)


def _runner_from_row(row: sqlite3.Row) -> Runner:
    return from_row(Runner, row, json_columns=("tag_list",),
                    bool_columns=("active", "locked", "run_untagged"))


def _manager_from_row(row: sqlite3.Row) -> RunnerManager:
    return from_row(RunnerManager, row, json_columns=("info",))


def _column_value(key: str, value: Any) -> Any:
    if key == "tag_list":
        return json.dumps(list(value))
    if isinstance(value, bool):
        return int(value)
    return value


class Store:
    """All coordinator state in `<data_dir>/coordinator.sqlite3`."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = data_dir / DB_NAME
        if not self.path.exists():
            # Create the file private before SQLite writes secrets into it.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run statements atomically; re-entrant (a nested call joins the outer transaction)."""
        with self._lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _migrate(self) -> None:
        with self.transaction() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            current = row["version"] if row else 0
            if row is None:
                db.execute("INSERT INTO schema_version (version) VALUES (0)")
            for version, script in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("UPDATE schema_version SET version = ?", (version,))

    # -- settings -------------------------------------------------------------------------

    def get_setting(self, key: str) -> Any:
        with self.transaction() as db:
            row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        if row is None:
            return DEFAULT_SETTINGS.get(key)
        return json.loads(row["value"])

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    def settings(self) -> dict[str, Any]:
        """The admin settings (defaults overlaid with stored values); secrets excluded."""
        result = dict(DEFAULT_SETTINGS)
        for key in DEFAULT_SETTINGS:
            result[key] = self.get_setting(key)
        return result

    def ensure_instance_credentials(self) -> tuple[str, str]:
        """The admin PAT and the instance registration token, created on first start.

        Both are kept in clear text (GitLab shows the registration token in its admin area; the
        PAT is printed at every start so a restarted coordinator stays usable); the PAT is also
        stored hashed for authentication like any other PAT.
        """
        with self.transaction():
            admin_token = self.get_setting("admin_personal_access_token")
            if admin_token is None:
                admin_token = tokens.new_personal_access_token()
                now = time.time()
                cur = self._conn.execute(
                    "INSERT INTO users (username, admin, created_at) VALUES ('root', 1, ?)", (now,)
                )
                self._conn.execute(
                    "INSERT INTO personal_access_tokens (user_id, name, token_sha256, scopes,"
                    " created_at) VALUES (?, 'coordinator admin', ?, ?, ?)",
                    (cur.lastrowid, tokens.hash_token(admin_token), json.dumps(["api"]), now),
                )
                self.set_setting("admin_personal_access_token", admin_token)
            registration_token = self.get_setting("runners_registration_token")
            if registration_token is None:
                registration_token = tokens.new_registration_token()
                self.set_setting("runners_registration_token", registration_token)
        return str(admin_token), str(registration_token)

    def user_for_personal_access_token(self, token: str) -> dict[str, Any] | None:
        with self.transaction() as db:
            row = db.execute(
                "SELECT users.id, users.username, users.admin FROM personal_access_tokens"
                " JOIN users ON users.id = personal_access_tokens.user_id"
                " WHERE token_sha256 = ?",
                (tokens.hash_token(token),),
            ).fetchone()
        if row is None:
            return None
        return {"id": row["id"], "username": row["username"], "admin": bool(row["admin"])}

    # -- groups and projects (minimal; owners of group/project runners) ---------------------

    def group_exists(self, group_id: int) -> bool:
        with self.transaction() as db:
            row = db.execute("SELECT 1 FROM groups WHERE id = ?", (group_id,)).fetchone()
        return row is not None

    def project_exists(self, project_id: int) -> bool:
        with self.transaction() as db:
            row = db.execute("SELECT 1 FROM projects WHERE id = ?", (project_id,)).fetchone()
        return row is not None

    def scope_for_runners_token(self, token: str) -> tuple[str, int, bool] | None:
        """(runner_type, group/project id, registration allowed there) for a runners token."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT projects.id, groups.allow_runner_registration_token AS allowed"
                " FROM projects LEFT JOIN groups ON groups.id = projects.group_id"
                " WHERE projects.runners_token = ?",
                (token,),
            ).fetchone()
            if row is not None:
                allowed = True if row["allowed"] is None else bool(row["allowed"])
                return "project_type", int(row["id"]), allowed
            row = db.execute(
                "SELECT id, allow_runner_registration_token AS allowed FROM groups"
                " WHERE runners_token = ?",
                (token,),
            ).fetchone()
            if row is not None:
                return "group_type", int(row["id"]), bool(row["allowed"])
        return None

    # -- runners -----------------------------------------------------------------------------

    def create_runner(
        self,
        runner_type: str,
        registration_type: str,
        attributes: dict[str, Any],
        *,
        token_expires_at: float | None,
        group_id: int | None = None,
        project_id: int | None = None,
    ) -> tuple[Runner, str]:
        """Insert a runner and return it with its new clear-text token (shown once)."""
        token = tokens.new_runner_token(
            runner_type, created=registration_type == "authenticated_user"
        )
        values = {k: _column_value(k, v) for k, v in attributes.items() if k in RUNNER_ATTRIBUTES}
        columns = ["token_sha256", "token_expires_at", "runner_type", "registration_type",
                   "created_at", *values]
        params = [tokens.hash_token(token), token_expires_at, runner_type, registration_type,
                  time.time(), *values.values()]
        with self.transaction() as db:
            cur = db.execute(
                f"INSERT INTO runners ({', '.join(columns)})"
                f" VALUES ({', '.join('?' for _ in columns)})",
                params,
            )
            runner_id = int(cur.lastrowid or 0)
            if group_id is not None:
                db.execute("INSERT INTO runner_namespaces VALUES (?, ?)", (runner_id, group_id))
            if project_id is not None:
                db.execute("INSERT INTO runner_projects VALUES (?, ?)", (runner_id, project_id))
            runner = self.runner_by_id(runner_id)
        assert runner is not None
        return runner, token

    def _with_links(self, runner: Runner) -> Runner:
        with self.transaction() as db:
            runner.group_ids = [
                r[0] for r in db.execute(
                    "SELECT group_id FROM runner_namespaces WHERE runner_id = ?", (runner.id,))
            ]
            runner.project_ids = [
                r[0] for r in db.execute(
                    "SELECT project_id FROM runner_projects WHERE runner_id = ?", (runner.id,))
            ]
        return runner

    def runner_by_id(self, runner_id: int) -> Runner | None:
        with self.transaction() as db:
            row = db.execute("SELECT * FROM runners WHERE id = ?", (runner_id,)).fetchone()
            return None if row is None else self._with_links(_runner_from_row(row))

    def runner_by_token(self, token: str) -> Runner | None:
        """The runner whose current token this is; expired tokens authenticate nothing."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT * FROM runners WHERE token_sha256 = ?", (tokens.hash_token(token),)
            ).fetchone()
            if row is None:
                return None
            runner = _runner_from_row(row)
            if runner.token_expires_at is not None and runner.token_expires_at <= time.time():
                return None
            return self._with_links(runner)

    def list_runners(
        self,
        *,
        runner_type: str | None = None,
        paused: bool | None = None,
        tag_list: list[str] | None = None,
        exclude_instance: bool = False,
    ) -> list[Runner]:
        clauses: list[str] = []
        params: list[Any] = []
        if runner_type is not None:
            clauses.append("runner_type = ?")
            params.append(runner_type)
        if exclude_instance:
            clauses.append("runner_type != 'instance_type'")
        if paused is not None:
            clauses.append("active = ?")
            params.append(0 if paused else 1)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self.transaction() as db:
            rows = db.execute(f"SELECT * FROM runners{where} ORDER BY id", params).fetchall()
            runners = [self._with_links(_runner_from_row(r)) for r in rows]
        if tag_list:
            runners = [r for r in runners if set(tag_list) <= set(r.tag_list)]
        return runners

    def update_runner(self, runner_id: int, changes: dict[str, Any]) -> Runner | None:
        values = {k: _column_value(k, v) for k, v in changes.items() if k in RUNNER_ATTRIBUTES}
        with self.transaction() as db:
            if values:
                db.execute(
                    f"UPDATE runners SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                    [*values.values(), runner_id],
                )
            return self.runner_by_id(runner_id)

    def delete_runner(self, runner_id: int) -> bool:
        with self.transaction() as db:
            cur = db.execute("DELETE FROM runners WHERE id = ?", (runner_id,))
        return cur.rowcount > 0

    def reset_runner_token(self, runner_id: int, token_expires_at: float | None) -> str:
        """Give the runner a new token; the old one stops authenticating at once."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT runner_type, registration_type FROM runners WHERE id = ?", (runner_id,)
            ).fetchone()
            token = tokens.new_runner_token(
                row["runner_type"], created=row["registration_type"] == "authenticated_user"
            )
            db.execute(
                "UPDATE runners SET token_sha256 = ?, token_expires_at = ? WHERE id = ?",
                (tokens.hash_token(token), token_expires_at, runner_id),
            )
        return token

    def heartbeat(
        self,
        runner_id: int,
        *,
        ip_address: str | None,
        system_xid: str | None = None,
        info: dict[str, Any] | None = None,
        creation_finished: bool = False,
    ) -> RunnerManager | None:
        """Record contact from a runner process; with `system_xid`, create/update its manager."""
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "UPDATE runners SET contacted_at = ?, ip_address = ? WHERE id = ?",
                (now, ip_address, runner_id),
            )
            if creation_finished:
                db.execute(
                    "UPDATE runners SET creation_state = 'finished'"
                    " WHERE id = ? AND creation_state != 'finished'", (runner_id,)
                )
            if system_xid is None:
                return None
            existing = db.execute(
                "SELECT * FROM runner_managers WHERE runner_id = ? AND system_xid = ?",
                (runner_id, system_xid),
            ).fetchone()
            if existing is None:
                db.execute(
                    "INSERT INTO runner_managers (runner_id, system_xid, info, ip_address,"
                    " contacted_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (runner_id, system_xid, json.dumps(info or {}), ip_address, now, now),
                )
            else:
                merged = dict(json.loads(existing["info"]))
                merged.update(info or {})
                info_text = json.dumps(merged)
                db.execute(
                    "UPDATE runner_managers SET info = ?, ip_address = ?, contacted_at = ?"
                    " WHERE id = ?",
                    (info_text, ip_address, now, existing["id"]),
                )
                # The row as just written, without reading it back (every job request).
                updated: dict[str, Any] = dict(zip(existing.keys(), existing, strict=True))
                updated.update(info=info_text, ip_address=ip_address, contacted_at=now)
                return _manager_from_row(updated)  # type: ignore[arg-type]
            row = db.execute(
                "SELECT * FROM runner_managers WHERE runner_id = ? AND system_xid = ?",
                (runner_id, system_xid),
            ).fetchone()
            return _manager_from_row(row)

    def job_heartbeat(self, runner_id: int, *, ip_address: str | None,
                      system_xid: str | None) -> bool:
        """`job.runner&.heartbeat` of a job call: what `heartbeat` without info records.

        False when the runner row is gone (deleted while its job runs): nothing is written.
        Two statements in one transaction (job calls are most of the API traffic); the
        manager's info is left as it is, as `heartbeat` merges an empty info.
        """
        now = time.time()
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE runners SET contacted_at = ?, ip_address = ? WHERE id = ?",
                (now, ip_address, runner_id),
            )
            if cur.rowcount == 0:
                return False
            if system_xid is None:
                return True
            cur = db.execute(
                "UPDATE runner_managers SET ip_address = ?, contacted_at = ?"
                " WHERE runner_id = ? AND system_xid = ?",
                (ip_address, now, runner_id, system_xid),
            )
            if cur.rowcount == 0:
                db.execute(
                    "INSERT INTO runner_managers (runner_id, system_xid, info, ip_address,"
                    " contacted_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (runner_id, system_xid, "{}", ip_address, now, now),
                )
        return True

    def managers(self, runner_id: int) -> list[RunnerManager]:
        with self.transaction() as db:
            rows = db.execute(
                "SELECT * FROM runner_managers WHERE runner_id = ? ORDER BY id", (runner_id,)
            ).fetchall()
        return [_manager_from_row(r) for r in rows]

    def delete_manager(self, runner_id: int, system_xid: str) -> bool:
        """Delete one manager; the runner's contact is cleared when it was the last one."""
        with self.transaction() as db:
            cur = db.execute(
                "DELETE FROM runner_managers WHERE runner_id = ? AND system_xid = ?",
                (runner_id, system_xid),
            )
            if cur.rowcount == 0:
                return False
            left = db.execute(
                "SELECT COUNT(*) FROM runner_managers WHERE runner_id = ?", (runner_id,)
            ).fetchone()[0]
            if left == 0:
                db.execute("UPDATE runners SET contacted_at = NULL WHERE id = ?", (runner_id,))
        return True
