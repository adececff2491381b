"""The `.gitlab-ci.yml` compiler: load, validate and compile pipelines as GitLab does."""

from runnerfleet.pipeline.compiler import CompiledJob, CompiledPipeline, compile
from runnerfleet.pipeline.entries import load_pipeline
from runnerfleet.pipeline.errors import PipelineError
from runnerfleet.pipeline.expressions import evaluate
from runnerfleet.pipeline.model import JobSpec, Need, Pipeline

__all__ = ["CompiledJob", "CompiledPipeline", "JobSpec", "Need", "Pipeline", "PipelineError",
           "compile", "evaluate", "load_pipeline"]
