"""`--env-file`: KEY=VALUE lines the runner wrote for a cache helper, loaded into its environment."""

from __future__ import annotations

import os


def load_env_file(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep and key.strip():
                os.environ[key.strip()] = value
