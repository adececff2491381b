"""Go's names for Unix signals, as gitlab-runner prints them ("signal: killed", "aborted: terminated")."""

from __future__ import annotations

import signal

_GO_SIGNAL_NAMES = {
    signal.SIGHUP: "hangup",
    signal.SIGINT: "interrupt",
    signal.SIGQUIT: "quit",
    signal.SIGILL: "illegal instruction",
    signal.SIGTRAP: "trace/breakpoint trap",
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGKILL: "killed",
    signal.SIGUSR1: "user defined signal 1",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGUSR2: "user defined signal 2",
    signal.SIGPIPE: "broken pipe",
    signal.SIGALRM: "alarm clock",
    signal.SIGTERM: "terminated",
}


def go_signal_name(sig: int | str) -> str:
    """`15`, `"SIGTERM"` or `"TERM"` → `"terminated"`; unknown names are returned as given."""
    if isinstance(sig, str):
        name = sig.strip().upper()
        if not name.startswith("SIG"):
            name = "SIG" + name
        try:
            number: int = signal.Signals[name]
        except KeyError:
            return sig
    else:
        number = sig
    try:
        return _GO_SIGNAL_NAMES.get(signal.Signals(number), f"signal {number}")
    except ValueError:
        return f"signal {number}"
