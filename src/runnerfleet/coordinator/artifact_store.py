"""Job artifacts on disk with their records in the coordinator's SQLite state.

Files live under `<data>/artifacts/<job id>/`; a row per (job, artifact type) keeps the upload's
file name, format, size, SHA-256 and expiry. The table is created here (IF NOT EXISTS) so the
artifact feature stays self-contained. Expired artifacts are treated as gone and removed lazily.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runnerfleet.coordinator.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS job_artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    file_type TEXT NOT NULL,
    file_format TEXT NOT NULL,
    filename TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    path TEXT NOT NULL,
    expire_at REAL,
    created_at REAL NOT NULL,
    UNIQUE (job_id, file_type)
)
"""

# `Ci::JobArtifact.file_types` and `file_formats` (the values GitLab accepts from runners).
FILE_TYPES = (
    "archive", "metadata", "trace", "junit", "sast", "dependency_scanning", "container_scanning",
    "dast", "codequality", "license_scanning", "performance", "metrics", "metrics_referee",
    "network_referee", "lsif", "dotenv", "cobertura", "terraform", "accessibility", "cluster_applications",
    "secret_detection", "requirements", "coverage_fuzzing", "browser_performance", "load_performance",
    "api_fuzzing", "cluster_image_scanning", "cyclonedx", "requirements_v2", "annotations",
    "repository_xray", "jacoco", "scip",
)
FILE_FORMATS = ("raw", "zip", "gzip", "zipzstd", "tarzstd")
SETTING_MAX_SIZE = "max_artifacts_size"  # MB, like GitLab's application setting
SETTING_DEFAULT_EXPIRE_IN = "default_artifacts_expire_in"
DEFAULT_MAX_SIZE_MB = 100
DEFAULT_EXPIRE_IN = "30 days"


@dataclass(frozen=True)
class Artifact:
    id: int
    job_id: int
    file_type: str
    file_format: str
    filename: str
    size: int
    sha256: str
    path: str
    expire_at: float | None
    created_at: float

    def expired(self, now: float | None = None) -> bool:
        return self.expire_at is not None and self.expire_at <= (time.time() if now is None else now)


class DuplicateArtifact(Exception):
    """Another artifact of this type, with different content, already exists for the job."""


def _artifact(row: Any) -> Artifact:
    return Artifact(row["id"], row["job_id"], row["file_type"], row["file_format"], row["filename"],
                    row["size"], row["sha256"], row["path"], row["expire_at"], row["created_at"])


class ArtifactStore:
    def __init__(self, store: Store, directory: Path) -> None:
        self.store = store
        self.directory = directory
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with store.transaction() as db:
            db.execute(SCHEMA)

    # -- settings --------------------------------------------------------------------------
    def max_size(self) -> int:
        """Largest accepted artifact in bytes (`max_artifacts_size` MB)."""
        value = self.store.get_setting(SETTING_MAX_SIZE)
        megabytes = int(value) if isinstance(value, int | float) and value > 0 else DEFAULT_MAX_SIZE_MB
        return megabytes * 1024 * 1024

    def default_expire_in(self) -> str:
        value = self.store.get_setting(SETTING_DEFAULT_EXPIRE_IN)
        return value if isinstance(value, str) else DEFAULT_EXPIRE_IN

    def staging_file(self, job_id: int) -> Path:
        directory = self.directory / str(job_id)
        directory.mkdir(mode=0o700, exist_ok=True)
        return directory / f".upload-{os.getpid()}-{time.monotonic_ns()}"

    # -- records ---------------------------------------------------------------------------
    def get(self, job_id: int, file_type: str) -> Artifact | None:
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM job_artifacts WHERE job_id = ? AND file_type = ?",
                             (job_id, file_type)).fetchone()
        return None if row is None else _artifact(row)

    def for_job(self, job_id: int) -> list[Artifact]:
        with self.store.transaction() as db:
            rows = db.execute("SELECT * FROM job_artifacts WHERE job_id = ? ORDER BY id",
                              (job_id,)).fetchall()
        return [_artifact(r) for r in rows]

    def save(self, job_id: int, file_type: str, file_format: str, filename: str, staged: Path, size: int,
             sha256: str, expire_at: float | None) -> Artifact:
        """Keep the staged file as the job's `file_type` artifact (idempotent for the same content)."""
        existing = self.get(job_id, file_type)
        if existing is not None and not existing.expired():
            staged.unlink(missing_ok=True)
            if existing.sha256 == sha256:
                return existing
            raise DuplicateArtifact("another artifact of the same type already exists")
        if existing is not None:
            self.delete(existing)
        final = self.directory / str(job_id) / f"{file_type}-{sha256[:16]}"
        os.replace(staged, final)
        now = time.time()
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT INTO job_artifacts (job_id, file_type, file_format, filename, size, sha256, path,"
                " expire_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, file_type, file_format, filename, size, sha256, str(final), expire_at, now))
            row = db.execute("SELECT * FROM job_artifacts WHERE id = ?", (cur.lastrowid,)).fetchone()
        return _artifact(row)

    def delete(self, artifact: Artifact) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM job_artifacts WHERE id = ?", (artifact.id,))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(artifact.path)

    def available_archive(self, job_id: int) -> Artifact | None:
        """The job's downloadable archive: present on disk and not expired.

        An expired archive's file is removed; its record stays, so jobs that depend on it can
        be refused (`missing_dependency_failure`) as GitLab refuses them.
        """
        archive = self.get(job_id, "archive")
        if archive is None:
            return None
        if archive.expired():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(archive.path)
            return None
        return archive if os.path.isfile(archive.path) else None

    def archive_expired(self, job_id: int) -> bool:
        """Whether the job had an archive that has expired (GitLab's `artifacts_expired?`)."""
        archive = self.get(job_id, "archive")
        return archive is not None and archive.expired()

    def remove_job(self, job_id: int) -> None:
        for artifact in self.for_job(job_id):
            self.delete(artifact)
        shutil.rmtree(self.directory / str(job_id), ignore_errors=True)
