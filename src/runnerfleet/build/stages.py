"""Stage names and the description line gitlab-runner prints at the start of each (engine spec §5.2)."""

from __future__ import annotations

PREPARE_EXECUTOR = "prepare_executor"
RESOLVE_SECRETS = "resolve_secrets"
PREPARE_SCRIPT = "prepare_script"
GET_SOURCES = "get_sources"
CLEAR_WORKTREE = "clear_worktree"
RESTORE_CACHE = "restore_cache"
DOWNLOAD_ARTIFACTS = "download_artifacts"
AFTER_SCRIPT = "after_script"
ARCHIVE_CACHE = "archive_cache"
ARCHIVE_CACHE_ON_FAILURE = "archive_cache_on_failure"
UPLOAD_ARTIFACTS_ON_SUCCESS = "upload_artifacts_on_success"
UPLOAD_ARTIFACTS_ON_FAILURE = "upload_artifacts_on_failure"
CLEANUP_FILE_VARIABLES = "cleanup_file_variables"

_DESCRIPTIONS = {
    PREPARE_SCRIPT: "Preparing environment",
    GET_SOURCES: "Getting source from Git repository",
    CLEAR_WORKTREE: "Deleting all tracked and untracked files due to source fetch failure",
    RESTORE_CACHE: "Restoring cache",
    DOWNLOAD_ARTIFACTS: "Downloading artifacts",
    AFTER_SCRIPT: "Running after_script",
    ARCHIVE_CACHE: "Saving cache for successful job",
    ARCHIVE_CACHE_ON_FAILURE: "Saving cache for failed job",
    UPLOAD_ARTIFACTS_ON_FAILURE: "Uploading artifacts for failed job",
    UPLOAD_ARTIFACTS_ON_SUCCESS: "Uploading artifacts for successful job",
    CLEANUP_FILE_VARIABLES: "Cleaning up project directory and file based variables",
}


def step_stage(step_name: str) -> str:
    """The stage of a job step: `step_<name>` in lower case (`script` → `step_script`)."""
    return f"step_{step_name.lower()}"


def description(stage: str) -> str:
    """The bold-cyan line printed inside a stage's section."""
    return _DESCRIPTIONS.get(stage) or f'Executing "{stage}" stage of the job script'
