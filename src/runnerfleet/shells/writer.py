"""ShellWriter: builds a bash or sh stage script from small primitives and wraps it for execution."""

from __future__ import annotations

from collections.abc import Callable

from runnerfleet.shells.quoting import bash_quote, posix_quote

ANSI_BOLD_GREEN = "\x1b[32;1m"
ANSI_YELLOW = "\x1b[0;33m"
ANSI_RESET = "\x1b[0;m"

SHELLS = ("bash", "sh")


class ShellWriter:
    """Accumulates script lines; `finish()` returns the complete script text."""

    def __init__(self, shell: str = "bash") -> None:
        if shell not in SHELLS:
            raise ValueError(f"unsupported shell {shell!r}: expected bash or sh")
        self.shell = shell
        self.q: Callable[[str], str] = bash_quote if shell == "bash" else posix_quote
        self.lines: list[str] = []

    # -- raw lines and output -------------------------------------------------------------
    def line(self, text: str) -> None:
        self.lines.append(text)

    def echo(self, text: str) -> None:
        # printf, not echo: dash's echo would interpret backslashes in the text.
        self.line(f"printf '%s\\n' {self.q(text)}")

    def notice(self, text: str) -> None:
        self.echo(ANSI_BOLD_GREEN + text + ANSI_RESET)

    def warning(self, text: str) -> None:
        self.echo(ANSI_YELLOW + text + ANSI_RESET)

    def section_start(self, name: str) -> None:
        self.line(f"printf 'section_start:%s:%s\\r\\033[0K\\n' \"$(date +%s)\" {self.q(name)}")

    def section_end(self, name: str) -> None:
        self.line(f"printf 'section_end:%s:%s\\r\\033[0K\\n' \"$(date +%s)\" {self.q(name)}")

    # -- environment ------------------------------------------------------------------------
    def export(self, key: str, value: str) -> None:
        self.line(f"export {key}={self.q(value)}")

    def write_file(self, path: str, content: str) -> None:
        """Write `content` verbatim (no trailing newline) to `path`, readable by the owner only."""
        self.line(f"(umask 077 && printf '%s' {self.q(content)} > {self.q(path)})")
        self.line(f"chmod 600 {self.q(path)}")

    def write_text(self, path: str, content: str, *, private: bool = False) -> None:
        """Write `content` verbatim to `path` with the printf builtin (no process); `private`:
        created owner-only (an existing file is removed first, so its old mode cannot stay)."""
        if private:
            self.rm_file(path)
            self.line(f"(umask 077 && printf '%s' {self.q(content)} > {self.q(path)})")
        else:
            self.line(f"printf '%s' {self.q(content)} > {self.q(path)}")

    def source_env(self, path: str) -> None:
        """Export every `KEY=VALUE` line of `path` literally (no shell evaluation of the value)."""
        p = self.q(path)
        # Created if missing; a test builtin spares the fork of `touch` when it exists.
        self.line(f"[ -e {p} ] || : >> {p}")
        self.line(
            "while IFS= read -r __rf_line || [ -n \"$__rf_line\" ]; do "
            "case \"$__rf_line\" in [A-Za-z_]*=*) export \"$__rf_line\" 2>/dev/null || true ;; esac; "
            f"done < {p}"
        )

    # -- filesystem ------------------------------------------------------------------------
    def cd(self, path: str) -> None:
        self.line(f"cd {self.q(path)}")

    def mkdir(self, path: str) -> None:
        p = self.q(path)
        # The test is a builtin: no `mkdir` process when the directory is already there.
        self.line(f"[ -d {p} ] || mkdir -p {p}")

    def rm_file(self, path: str) -> None:
        p = self.q(path)
        # Test builtins first: no `rm` process for the (usual) file that is not there.
        self.line(f"if [ -e {p} ] || [ -h {p} ]; then rm -f {p}; fi")

    def rm_dir(self, path: str) -> None:
        p = self.q(path)
        # Read-only files (e.g. go module caches) would make a plain rm fail.
        self.line(f"if [ -d {p} ]; then chmod -R u+rwX {p}; fi")
        self.line(f"if [ -e {p} ] || [ -h {p} ]; then rm -r -f {p}; fi")

    # -- control flow ------------------------------------------------------------------------
    def if_cmd(self, command: str) -> None:
        self.line(f"if {command}; then")

    def if_dir(self, path: str) -> None:
        self.if_cmd(f"[ -d {self.q(path)} ]")

    def if_file(self, path: str) -> None:
        self.if_cmd(f"[ -f {self.q(path)} ]")

    def else_(self) -> None:
        self.line("else")

    def end_if(self) -> None:
        self.line("fi")

    # -- user commands ---------------------------------------------------------------------------
    def command(self, *argv: str) -> None:
        """Run a program with arguments, each quoted."""
        self.line(" ".join(self.q(a) for a in argv))

    def user_command(self, command: str) -> None:
        """Echo `$ <command>` in green (first line only for multi-line commands), then run it as written."""
        text = command.strip()
        if not text:
            self.line("echo")
            return
        first, _, rest = text.partition("\n")
        shown = f"$ {first} # collapsed multi-line command" if rest else f"$ {text}"
        self.notice(shown)
        self.line(text)

    # -- final script -----------------------------------------------------------------------------
    def finish(self, *, trace: bool = False, pipefail_probe: bool = True) -> str:
        """The runnable script: strict options, then the body quoted as one string and eval-ed.

        `pipefail_probe=False` when the script is known to run in bash, which always has
        pipefail: the probe costs a `grep` process per stage. sh may lack it and keeps the probe.
        """
        body = "\n".join(self.lines) + "\n"
        out = [f"#!/usr/bin/env {self.shell}", "", "trap 'exit 1' TERM", ""]
        if trace:
            out.append("set -o xtrace")
        if pipefail_probe or self.shell != "bash":
            out.append("if set -o | grep pipefail > /dev/null; then set -o pipefail; fi; set -o errexit")
        else:
            out.append("set -o pipefail; set -o errexit")
        out.append("set +o noclobber")
        # The subshell reads /dev/null so commands cannot swallow the rest of a script fed on stdin.
        out.append(f"( trap 'exit 1' TERM; eval {self.q(body)} ) < /dev/null")
        out.append("exit 0")
        return "\n".join(out) + "\n"
