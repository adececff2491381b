"""Benchmark: `runnerfleet exec` against gitlab-ci-local on the same `.gitlab-ci.yml` and tree.

Usage: .venv/bin/python bench/exec_vs_gitlab_ci_local.py [--rounds N] [--gcl-dir DIR]
       [--user-home] [--concurrent N]

Both tools run a 2-job pipeline (build → test) and a 10-job pipeline (build → 8 tests in one
stage → deploy), shell executor, `echo` scripts, from a fresh copy of the same committed git
tree each round, alternating which tool goes first. Wall time is the process's, from spawn to
exit (what a developer waits for); CPU time is user+system of the process and every child it
waited for (getrusage), a measure that depends less on how loaded the machine is (exec's
state directory is removed by a detached `rm -rf` after exec ends: that one is not counted).
runnerfleet's modules are byte-compiled first, as a wheel install leaves them.

gitlab-ci-local@4.60.0 (the last version that runs on Node 20) is installed with npm into
`~/.cache/runnerfleet-bench/gitlab-ci-local-4.60.0` on first use (or `--gcl-dir`); it needs
`node` 20 and `rsync` on PATH. Both tools get the same HOME: a fresh empty directory by default,
so that neither pays for the user's shell profile (runnerfleet's shell executor runs each stage
in `bash -l`, as gitlab-runner does; gitlab-ci-local runs a plain `bash`); `--user-home` keeps
the real HOME to measure what this user sees. Prints a table; asserts nothing.

`--processes` also runs each tool once per pipeline under `strace -f -e trace=execve` and
prints the processes each started per job (all, git, shells): counts that do not depend on how
loaded the machine is.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
GCL_VERSION = "4.60.0"
GCL_CACHE = Path.home() / ".cache" / "runnerfleet-bench" / f"gitlab-ci-local-{GCL_VERSION}"
TARGET = 0.5


def two_jobs() -> str:
    return """stages: [build, test]
build:
  stage: build
  script: [echo building, ls README.md]
test:
  stage: test
  script: [echo testing]
"""


def ten_jobs() -> str:
    tests = "".join(f"test{i}:\n  stage: test\n  script: [echo test {i}]\n" for i in range(1, 9))
    return f"""stages: [build, test, deploy]
build:
  stage: build
  script: [echo building, ls README.md]
{tests}deploy:
  stage: deploy
  script: [echo deploying]
"""


PIPELINES = {"2 jobs": (two_jobs(), 2), "10 jobs": (ten_jobs(), 10)}


def ensure_gitlab_ci_local(prefix: Path) -> Path:
    """The gitlab-ci-local executable under `prefix`, installed with npm when missing."""
    binary = prefix / "node_modules" / ".bin" / "gitlab-ci-local"
    if binary.exists():
        return binary
    for tool in ("node", "npm", "rsync"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is not on PATH; gitlab-ci-local {GCL_VERSION} needs Node 20 "
                     "(npm) and rsync")
    prefix.mkdir(parents=True, exist_ok=True)
    print(f"installing gitlab-ci-local@{GCL_VERSION} into {prefix} (npm, ~2 min) ...",
          flush=True)
    done = subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                           f"gitlab-ci-local@{GCL_VERSION}"], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0 or not binary.exists():
        sys.exit(f"bench: npm install gitlab-ci-local@{GCL_VERSION} failed:\n{done.stderr}")
    return binary


def ensure_bytecode() -> None:
    """Compile runnerfleet's modules as installing its wheel does: with PYTHONDONTWRITEBYTECODE
    set (as in CI images) an editable install would otherwise recompile every module on every
    run, which no installed runnerfleet does (~0.1 s per exec here)."""
    import compileall

    import runnerfleet

    compileall.compile_dir(str(Path(runnerfleet.__file__).parent), quiet=1)


def make_tree(root: Path, config: str) -> Path:
    """A committed git tree: the pipeline, a README and a little source."""
    root.mkdir(parents=True)
    (root / ".gitlab-ci.yml").write_text(config)
    (root / "README.md").write_text("# bench project\n")
    (root / "src").mkdir()
    for i in range(20):
        (root / "src" / f"module{i}.py").write_text(f"VALUE = {i}\n" * 50)
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return root


@dataclass
class Run:
    wall: float
    cpu: float
    ok: bool
    output: str


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False,
                          timeout=600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, cpu, done.returncode == 0, done.stdout + done.stderr)


def all_jobs_ran(run: Run, config: str) -> bool:
    """Every job's echo reached the output (both tools print the job's lines)."""
    words = [line.split("echo ", 1)[1].rstrip("]").split(",")[0]
             for line in config.splitlines() if "echo " in line]
    return run.ok and all(w in run.output for w in words)


_EXECVE = re.compile(r'^\d+ +execve\("([^"]*)", \["([^"]*)".* = 0$')


def process_counts(argv: list[str], cwd: Path, env: dict[str, str],
                   trace: Path) -> collections.Counter[str]:
    """Programs started (successful execve) by `argv` and its children: all, git, shell."""
    # Own process group: a run that does not end is killed with everything it started.
    proc = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=execve", "-e", "signal=none",
                             "-o", str(trace), *argv], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        proc.wait(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        print(f"bench: {' '.join(argv)} under strace did not end within 300 s (killed; "
              "counted up to there)", file=sys.stderr)
    counts: collections.Counter[str] = collections.Counter()
    for line in trace.read_text().splitlines():
        match = _EXECVE.match(line)
        if match is None:
            continue
        program = Path(match.group(1)).name
        counts["all"] += 1
        if program.startswith("git") or "/git-core/" in match.group(1):
            counts["git"] += 1
        elif program in ("bash", "sh", "dash"):
            counts["shell"] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each tool (median)")
    parser.add_argument("--gcl-dir", type=Path, default=GCL_CACHE,
                        help="npm prefix holding gitlab-ci-local (installed when missing)")
    parser.add_argument("--user-home", action="store_true",
                        help="run both tools with the real HOME (its shell profile included)")
    parser.add_argument("--concurrent", type=int, default=None,
                        help="exec --concurrent (default: exec's own default, the CPU count)")
    parser.add_argument("--processes", action="store_true",
                        help="also count the processes each tool starts per job (strace)")
    args = parser.parse_args()
    if args.processes and shutil.which("strace") is None:
        sys.exit("bench: --processes needs strace on PATH")

    gcl = ensure_gitlab_ci_local(args.gcl_dir)
    ensure_bytecode()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True,
                          check=False).stdout.strip()
    exec_cmd = [PYTHON, "-m", "runnerfleet", "exec"]
    if args.concurrent:
        exec_cmd += ["--concurrent", str(args.concurrent)]
    tools = {"runnerfleet exec": exec_cmd, f"gitlab-ci-local {GCL_VERSION}": [str(gcl)]}
    load = os.getloadavg()
    rows: list[tuple[str, str, float, float, float, float, int]] = []
    counted: list[tuple[str, str, int, collections.Counter[str]]] = []
    with tempfile.TemporaryDirectory(prefix="bench-exec-") as tmp:
        base = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        if not args.user_home:
            (base / "home").mkdir()
            env["HOME"] = str(base / "home")
        env.pop("NO_COLOR", None)
        for label, (config, job_count) in PIPELINES.items():
            template = make_tree(base / label.replace(" ", "-") / "template", config)
            results: dict[str, list[Run]] = {t: [] for t in tools}
            for round_no in range(args.rounds):
                order = list(tools) if round_no % 2 == 0 else list(reversed(tools))
                for tool in order:
                    tree = template.parent / f"{tool.split()[0]}-{round_no}"
                    shutil.copytree(template, tree, symlinks=True)
                    run = timed(tools[tool], tree, env)
                    if not all_jobs_ran(run, config):
                        print(f"--- {tool} on {label} failed:\n{run.output}", file=sys.stderr)
                    results[tool].append(run)
            if args.processes:
                for tool in tools:
                    tree = template.parent / f"{tool.split()[0]}-strace"
                    shutil.copytree(template, tree, symlinks=True)
                    counted.append((label, tool, job_count, process_counts(
                        tools[tool], tree, env, template.parent / f"{tool.split()[0]}.strace")))
            for tool, runs in results.items():
                good = [r for r in runs if all_jobs_ran(r, config)]
                walls = [r.wall for r in good] or [float("nan")]
                cpus = [r.cpu for r in good] or [float("nan")]
                rows.append((label, tool, statistics.median(walls), min(walls),
                             statistics.median(cpus), max(walls), len(runs) - len(good)))
    print(f"\nmachine: {os.cpu_count()} CPUs, load average at start {load[0]:.2f}, "
          f"Python {sys.version.split()[0]}, node {node}, HOME "
          f"{'real' if args.user_home else 'fresh empty dir'}, {args.rounds} rounds\n")
    print("| pipeline | tool | wall median | wall min | wall max | CPU median | failed runs |")
    print("|---|---|---|---|---|---|---|")
    for label, tool, median, low, cpu, high, failed in rows:
        print(f"| {label} | {tool} | {median:.2f} s | {low:.2f} s | {high:.2f} s | {cpu:.2f} s "
              f"| {failed} |")
    print("\n| pipeline | exec / gitlab-ci-local (wall median) | CPU ratio | target | result |")
    print("|---|---|---|---|---|")
    for label in PIPELINES:
        mine = next(r for r in rows if r[0] == label and r[1] == "runnerfleet exec")
        theirs = next(r for r in rows if r[0] == label and r[1] != "runnerfleet exec")
        ratio = mine[2] / theirs[2]
        verdict = "pass" if ratio <= TARGET else "MISS"
        print(f"| {label} | {ratio:.2f}x | {mine[4] / theirs[4]:.2f}x | ≤ {TARGET}x | {verdict} |")
    if counted:
        print("\n| pipeline | tool | processes | per job | git per job | shells per job |")
        print("|---|---|---|---|---|---|")
        for label, tool, jobs, counts in counted:
            print(f"| {label} | {tool} | {counts['all']} | {counts['all'] / jobs:.1f} | "
                  f"{counts['git'] / jobs:.1f} | {counts['shell'] / jobs:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
