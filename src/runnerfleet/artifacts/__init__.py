"""Artifact archives: file selection, streaming zip/gzip/raw writers, safe extraction, upload and download.

Modules are imported directly (`runnerfleet.artifacts.zipwrite`, ...): the helper commands that
job scripts run must start fast, so this package imports nothing on its own.
"""
