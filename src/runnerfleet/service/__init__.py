"""The runner service: `run` (feeder + workers) and `run-single`, the job journal and metrics.

Modules (one job each): handoff (feeder→worker channel), slots (limit/request slots,
concurrency ids), health (unhealthy back-off), config_holder (live reload), clients (shared
API clients with call metrics), journal + recovery (crash-safe in-flight jobs), job (one job end
to end), worker (one runner entry per worker turn), multi (`run`), single (`run-single`),
metrics + metrics_server (Prometheus names of gitlab-runner), rotation (token rotation).
Nothing is imported here, so `runnerfleet run` loads only what it uses.
"""
