"""ANSI colour codes and runner line formats gitlab-runner writes into job logs."""

from __future__ import annotations

BOLD_RED = "\x1b[31;1m"
BOLD_GREEN = "\x1b[32;1m"
BOLD_YELLOW = "\x1b[33;1m"
YELLOW = "\x1b[0;33m"
RESET = "\x1b[0;m"
CLEAR = "\x1b[0K"


def runner_line(prefix: str, text: str) -> bytes:
    """One runner line: prefix, text, reset, newline (the reset comes before the newline)."""
    return f"{prefix}{text}{RESET}\n".encode()


def plain_line(text: str) -> bytes:
    return runner_line(CLEAR, text)


def notice_line(text: str) -> bytes:
    return runner_line(BOLD_GREEN, text)


def warning_line(text: str) -> bytes:
    return runner_line(f"{YELLOW}WARNING: ", text)


def error_line(text: str) -> bytes:
    return runner_line(f"{BOLD_RED}ERROR: ", text)


def section_start_line(name: str, unix_time: int) -> bytes:
    return f"section_start:{unix_time}:{name}\r{CLEAR}".encode()


def section_end_line(name: str, unix_time: int) -> bytes:
    return f"section_end:{unix_time}:{name}\r{CLEAR}".encode()
