"""The job cache: keys and archive paths, local and S3 (pre-signed URL) storage, and the cache helpers.

Modules are imported directly; like `runnerfleet.artifacts` this package imports nothing on its
own so the `cache-archiver`/`cache-extractor` helpers start fast inside job scripts.
"""
