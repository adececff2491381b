"""Finds the process groups a job's script spread into, so a stop reaches all of them.

The shell starts as the leader of its own group, and a kill of that group is usually enough. Two
cases escape it: `su` (for `run --user`) starts the user's shell in a new session, and a script
may `setsid` its own helpers. Both are found on Linux through /proc: the descendants of the
shell, and every process still holding the job's stdout/stderr pipe (which is also what keeps a
stage from ending). The runner's own process group is never included.
"""

from __future__ import annotations

import os

_PROC = "/proc"


def _stat(pid: str) -> tuple[int, int] | None:
    """(parent pid, process group) of a process, or None when it is gone or unreadable."""
    try:
        with open(f"{_PROC}/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()
    if len(fields) < 3 or fields[0] == "Z":
        return None  # zombies hold nothing and cannot be signalled usefully
    return int(fields[1]), int(fields[2])


def _holds_pipe(pid: str, links: set[str]) -> bool:
    try:
        fds = os.listdir(f"{_PROC}/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"{_PROC}/{pid}/fd/{fd}") in links:
                return True
        except OSError:
            continue
    return False


def pipe_links(fds: list[int]) -> set[str]:
    """How /proc shows the pipes behind our read ends (`pipe:[<inode>]`)."""
    links = set()
    for fd in fds:
        try:
            links.add(f"pipe:[{os.fstat(fd).st_ino}]")
        except OSError:
            continue
    return links


def job_process_groups(leader: int, links: set[str]) -> set[int]:
    """Process groups of the leader's descendants and of every process holding one of `links`."""
    groups = {leader}
    if not os.path.isdir(_PROC):
        return groups
    own = {os.getpgrp(), 0, 1}
    me = str(os.getpid())
    parents: dict[int, list[int]] = {}
    group_of: dict[int, int] = {}
    for entry in os.listdir(_PROC):
        if not entry.isdigit() or entry == me:
            continue
        info = _stat(entry)
        if info is None:
            continue
        pid = int(entry)
        parents.setdefault(info[0], []).append(pid)
        group_of[pid] = info[1]
        if links and _holds_pipe(entry, links):
            groups.add(info[1])
    todo = [leader]
    while todo:
        for child in parents.get(todo.pop(), []):
            groups.add(group_of[child])
            todo.append(child)
    return groups - own
