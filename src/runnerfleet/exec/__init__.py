"""`runnerfleet exec`: a project's `.gitlab-ci.yml` run locally through an in-process coordinator."""

from runnerfleet.exec.session import ExecOptions, list_jobs, run_exec

__all__ = ["ExecOptions", "list_jobs", "run_exec"]
