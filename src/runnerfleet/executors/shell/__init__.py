"""The shell executor: stage scripts run by a local bash/sh login shell in their own process group."""

from runnerfleet.executors.shell.executor import ShellExecutor, ShellExecutorProvider, shell_command
from runnerfleet.executors.shell.process import ProcessOutcome, run_script

__all__ = ["ProcessOutcome", "ShellExecutor", "ShellExecutorProvider", "run_script", "shell_command"]
