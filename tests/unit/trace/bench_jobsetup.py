"""CPU per job of the log's masking setup and of variable expansion (not a test).

`python tests/unit/trace/bench_jobsetup.py [iterations]` prints microseconds of this process's CPU
time (`time.process_time()`, steadier than wall clock on a busy machine) per job for:
- a TraceBuffer set up as the service loop and the Build do it (constructor with the payload's
  masked values, then `set_token_mask_prefixes` and `set_masked` again, the work stream's
  stdout/stderr opened, one line written, finished, closed);
- `JobVariables.expanded()` of the same job's ~60 variables.
Every job gets its own job token (as GitLab sends), so nothing is shared across jobs but what
is really the same: the default token prefixes.
"""

from __future__ import annotations

import sys
import tempfile
import time

from runnerfleet.job import JobVariables, Variable
from runnerfleet.trace import STDERR, STDOUT, STREAM_WORK, TraceBuffer
from runnerfleet.trace.store import LogStore

# GitLab's predefined variables of a typical pipeline job (names as GitLab sends them).
_PREDEFINED_NAMES = (
    "CI_PIPELINE_ID CI_PIPELINE_URL CI_JOB_ID CI_JOB_URL CI_JOB_STARTED_AT CI_REGISTRY_USER "
    "CI_REGISTRY CI_REGISTRY_IMAGE CI_JOB_NAME CI_JOB_NAME_SLUG CI_JOB_STAGE CI_NODE_TOTAL "
    "CI_BUILDS_DIR CI_PROJECT_DIR CI_SERVER_URL CI_SERVER_HOST CI_SERVER_PORT CI_SERVER_PROTOCOL "
    "CI_SERVER_NAME CI_SERVER_VERSION CI_SERVER_VERSION_MAJOR CI_SERVER_VERSION_MINOR "
    "CI_SERVER_VERSION_PATCH CI_SERVER_REVISION GITLAB_FEATURES CI_PROJECT_ID CI_PROJECT_NAME "
    "CI_PROJECT_TITLE CI_PROJECT_DESCRIPTION CI_PROJECT_PATH CI_PROJECT_PATH_SLUG "
    "CI_PROJECT_NAMESPACE CI_PROJECT_NAMESPACE_ID CI_PROJECT_ROOT_NAMESPACE CI_PROJECT_URL "
    "CI_PROJECT_VISIBILITY CI_PROJECT_REPOSITORY_LANGUAGES CI_PROJECT_CLASSIFICATION_LABEL "
    "CI_DEFAULT_BRANCH CI_CONFIG_PATH CI_PAGES_DOMAIN CI_PAGES_URL CI_API_V4_URL CI_API_GRAPHQL_URL "
    "CI_PIPELINE_IID CI_PIPELINE_SOURCE CI_PIPELINE_CREATED_AT CI_PIPELINE_NAME CI_COMMIT_SHA "
    "CI_COMMIT_SHORT_SHA CI_COMMIT_BEFORE_SHA CI_COMMIT_REF_NAME CI_COMMIT_REF_SLUG CI_COMMIT_BRANCH "
    "CI_COMMIT_MESSAGE CI_COMMIT_TITLE CI_COMMIT_DESCRIPTION CI_COMMIT_REF_PROTECTED "
    "CI_COMMIT_TIMESTAMP CI_COMMIT_AUTHOR GITLAB_USER_ID GITLAB_USER_EMAIL GITLAB_USER_LOGIN "
    "GITLAB_USER_NAME CI_RUNNER_ID CI_RUNNER_DESCRIPTION CI_RUNNER_TAGS"
)
_PREDEFINED = _PREDEFINED_NAMES.split()


def job_variables(job_id: int) -> JobVariables:
    """A job's variables: ~65 predefined (a few referencing others), 3 masked values."""
    items = [Variable("CI_JOB_TOKEN", f"glcbt-64_{job_id:08d}sVyzt3aHr8qmYyykh2y", masked=True),
             Variable("CI_REGISTRY_PASSWORD", f"glcbt-64_{job_id:08d}sVyzt3aHr8qmYyykh2y", masked=True)]
    items += [Variable(name, f"value of {name.lower()} for job {job_id}", public=True)
              for name in _PREDEFINED]
    items += [Variable("CI_REPOSITORY_URL", "https://gitlab-ci-token:$CI_JOB_TOKEN@example.com/g/p.git"),
              Variable("DEPLOY_PASSWORD", "s3cr3t-deploy-password", masked=True),
              Variable("GIT_DEPTH", "20", public=True),
              Variable("BUILD_DIR", "${CI_PROJECT_DIR}/build", public=True)]
    return JobVariables(items)


def one_trace_setup(variables: JobVariables, directory: str) -> None:
    masked = [v.value for v in variables if v.masked]
    with TraceBuffer(masked=masked, directory=directory) as trace:
        trace.set_token_mask_prefixes([])
        trace.set_masked(masked)
        trace.stream(STREAM_WORK, STDOUT).write(b"$ echo hello\nhello\n")
        trace.stream(STREAM_WORK, STDERR)
        trace.finish()


def main(iterations: int = 1000) -> None:
    jobs = [job_variables(i) for i in range(iterations)]
    with tempfile.TemporaryDirectory() as directory:
        cpu = time.process_time()
        for variables in jobs:
            one_trace_setup(variables, directory)
        trace_us = (time.process_time() - cpu) / iterations * 1e6
        # The log file alone (create + remove: kernel time), to tell it apart from masking setup.
        cpu = time.process_time()
        for _ in jobs:
            LogStore(directory=directory).close()
        file_us = (time.process_time() - cpu) / iterations * 1e6
    cpu = time.process_time()
    for variables in jobs:
        variables.expanded()
    expand_us = (time.process_time() - cpu) / iterations * 1e6
    print(f"trace setup per job:   {trace_us:8.1f} us CPU ({iterations} jobs), of which the log file "
          f"{file_us:.1f} us: the rest {trace_us - file_us:.1f} us")
    print(f"expanded() per job:    {expand_us:8.1f} us CPU ({len(jobs[0])} variables)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
