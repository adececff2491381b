# Copyright: runnerfleet maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The runner record in GitLab as the runner module sees it: identity marker and attribute diffs.

The identity is stored as the last line of the runner's `maintenance_note`,
`runnerfleet-identity: <identity>`. The note is admin-only text that GitLab keeps verbatim,
does not use for job routing and that people rarely edit, unlike the description (shown in
every job log and renamed freely) or the tags (they decide which jobs the runner takes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MARKER = "runnerfleet-identity: "
_MARKER_LINE = re.compile(r"(?:^|\n)runnerfleet-identity: (?P<identity>[^\n]+?)\s*$")
NOTE_LIMIT = 1024  # GitLab's maximum maintenance_note length
IDENTITY_LIMIT = 255

# Module option -> GitLab runner attribute; the options the user may set and GitLab keeps.
ATTRIBUTES = {
    "description": "description",
    "tags": "tag_list",
    "run_untagged": "run_untagged",
    "locked": "locked",
    "access_level": "access_level",
    "maximum_timeout": "maximum_timeout",
    "paused": "paused",
    "maintenance_note": "maintenance_note",
}
RUNNER_TYPES = {"instance": "instance_type", "group": "group_type", "project": "project_type"}


def identity_problem(identity: str) -> str | None:
    """Why `identity` cannot be used as a key, or None when it can."""
    if not identity.strip():
        return "identity must not be empty"
    if "\n" in identity or "\r" in identity:
        return "identity must be one line"
    if identity != identity.strip():
        return "identity must not start or end with spaces"
    if len(identity) > IDENTITY_LIMIT:
        return f"identity must be at most {IDENTITY_LIMIT} characters"
    return None


def split_note(note: str | None) -> tuple[str, str | None]:
    """(the user's part of a maintenance_note, the identity in its marker line or None)."""
    text = note or ""
    match = _MARKER_LINE.search(text)
    if not match:
        return text, None
    return text[: match.start()].rstrip("\n"), match.group("identity")


def compose_note(user_note: str, identity: str) -> str:
    """The maintenance_note holding the user's text and, as its last line, the identity."""
    marker = MARKER + identity
    return user_note.rstrip("\n") + "\n" + marker if user_note.strip() else marker


def note_problem(user_note: str, identity: str) -> str | None:
    """Why the composed note would be refused by GitLab, or None."""
    size = len(compose_note(user_note, identity))
    if size > NOTE_LIMIT:
        return (f"maintenance_note is too long: with the identity line it has {size} characters, "
                f"GitLab keeps at most {NOTE_LIMIT}")
    return None


def desired_attributes(params: Mapping[str, Any], identity: str,
                       current_note: str | None) -> dict[str, Any]:
    """GitLab attributes the task asks for: only the options it set, the note with the marker."""
    wanted: dict[str, Any] = {}
    for option, attribute in ATTRIBUTES.items():
        value = params.get(option)
        if value is None or option == "maintenance_note":
            continue
        wanted[attribute] = sorted(set(value)) if option == "tags" else value
    if params.get("state") == "paused":
        wanted["paused"] = True
    user_note = params.get("maintenance_note")
    if user_note is None:
        user_note = split_note(current_note)[0]
    wanted["maintenance_note"] = compose_note(user_note, identity)
    return wanted


def _same(attribute: str, current: Any, wanted: Any) -> bool:
    if attribute == "tag_list":
        return sorted(set(current or [])) == list(wanted)
    if attribute in ("description", "maintenance_note"):
        return bool((current or "") == wanted)
    return bool(current == wanted)


def attribute_changes(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The wanted attributes whose value differs from GitLab's (what a PUT must send)."""
    return {k: v for k, v in wanted.items() if not _same(k, current.get(k), v)}


def public_view(details: Mapping[str, Any]) -> dict[str, Any]:
    """What the module reports about a runner: its attributes, never a token."""
    user_note, identity = split_note(details.get("maintenance_note"))
    return {
        "id": details.get("id"),
        "identity": identity,
        "runner_type": details.get("runner_type"),
        "description": details.get("description") or "",
        "tags": sorted(details.get("tag_list") or []),
        "run_untagged": details.get("run_untagged"),
        "locked": details.get("locked"),
        "access_level": details.get("access_level"),
        "maximum_timeout": details.get("maximum_timeout"),
        "paused": details.get("paused"),
        "maintenance_note": user_note,
        "status": details.get("status"),
    }
