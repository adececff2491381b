"""`metadata.json` next to a local cache archive (gitlab-runner's cache metadata file)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

FILE_NAME = "metadata.json"


def normalize_key(key: str) -> str:
    """Lower-cased canonical MIME header form, so upload metadata and response headers agree."""
    return "-".join(part.capitalize() for part in key.split("-")).lower()


def write(archive_path: str, metadata: Mapping[str, str]) -> None:
    data = {normalize_key(k): v for k, v in metadata.items() if k}
    path = os.path.join(os.path.dirname(archive_path) or ".", FILE_NAME)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"), sort_keys=True)
    os.chmod(path, 0o640)


def from_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """`X-Amz-Meta-<key>` / `X-Goog-Meta-<key>` response headers → {key: value}."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        parts = name.split("-")
        if len(parts) >= 4 and parts[0].lower() == "x" and parts[2].lower() == "meta":
            out["-".join(parts[3:])] = value
    return out
