"""The job log buffer: masking, timestamps, output limit and checksum of a job's trace."""

from runnerfleet.trace.buffer import (
    STREAM_EXECUTOR,
    STREAM_FIRST_SERVICE,
    STREAM_WORK,
    TraceBuffer,
    TraceStream,
)
from runnerfleet.trace.store import DEFAULT_OUTPUT_LIMIT, limit_notice
from runnerfleet.trace.streamer import FinalResult, TraceStreamer
from runnerfleet.trace.timestamps import STDERR, STDOUT
from runnerfleet.trace.tokens import DEFAULT_TOKEN_PREFIXES, token_prefixes

__all__ = [
    "DEFAULT_OUTPUT_LIMIT",
    "DEFAULT_TOKEN_PREFIXES",
    "STDERR",
    "STDOUT",
    "STREAM_EXECUTOR",
    "STREAM_FIRST_SERVICE",
    "STREAM_WORK",
    "FinalResult",
    "TraceBuffer",
    "TraceStream",
    "TraceStreamer",
    "limit_notice",
    "token_prefixes",
]
