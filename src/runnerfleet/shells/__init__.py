"""Stage scripts for bash and sh, generated from a job and the runner's settings."""

from runnerfleet.shells.build_info import BuildInfo
from runnerfleet.shells.errors import ShellScriptError
from runnerfleet.shells.in_process import InProcessStage, in_process_stage
from runnerfleet.shells.layout import project_dir, short_token, tmp_dir
from runnerfleet.shells.predefined import predefined_variables
from runnerfleet.shells.stages import generate
from runnerfleet.shells.writer import ShellWriter

__all__ = [
    "BuildInfo",
    "InProcessStage",
    "ShellScriptError",
    "ShellWriter",
    "generate",
    "in_process_stage",
    "predefined_variables",
    "project_dir",
    "short_token",
    "tmp_dir",
]
