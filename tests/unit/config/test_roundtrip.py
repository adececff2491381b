"""Round trip: loading and saving keeps every byte that was not changed."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from runnerfleet.config import ConfigFile
from runnerfleet.errors import ConfigError
from tests.unit.config.samples import HAND_WRITTEN, TYPICAL


def _changed_lines(before: str, after: str) -> list[str]:
    return [
        line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_typical_file_dumps_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(TYPICAL)
    config_file = ConfigFile.load(path)
    assert config_file.exists
    assert config_file.dumps() == TYPICAL
    assert config_file.warnings == []


def test_token_update_then_save_changes_only_that_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    config_file = ConfigFile.load(path)
    config_file.update_runner(1, {"token": "glrt-rotated"})
    config_file.save()
    after = path.read_text()
    assert _changed_lines(HAND_WRITTEN, after) == [
        '-  token = "glrt-second-token"',
        '+  token = "glrt-rotated"',
    ]
    assert ConfigFile.load(path).config.runners[1].token == "glrt-rotated"


def test_update_keeps_the_trailing_comment_of_the_changed_key() -> None:
    config_file = ConfigFile.from_text(HAND_WRITTEN)
    config_file.update_runner(0, {"token": "glrt-new"})
    assert '  token = "glrt-new"   # rotated by hand\n' in config_file.dumps()


def test_comments_order_unknown_keys_and_tables_survive() -> None:
    config_file = ConfigFile.from_text(HAND_WRITTEN)
    assert config_file.dumps() == HAND_WRITTEN
    config_file.set_global("concurrent", 8)
    text = config_file.dumps()
    assert _changed_lines(HAND_WRITTEN, text) == [
        "-concurrent = 4   # two hosts",
        "+concurrent = 8   # two hosts",
    ]
    assert "unknown_global = \"kept\"" in text and "[runners.custom_thing]" in text
    assert config_file.config.concurrent == 8


def test_new_key_is_added_inside_its_table_with_sibling_indentation() -> None:
    config_file = ConfigFile.from_text(HAND_WRITTEN)
    config_file.update_runner(1, {"limit": 2, "docker": {"memory": "4g"}})
    text = config_file.dumps()
    assert '  executor = "docker"\n  limit = 2\n  [runners.docker]\n' in text
    assert '    image = "alpine"\n    memory = "4g"\n' in text
    assert _changed_lines(HAND_WRITTEN, text) == ["+  limit = 2", '+    memory = "4g"']
    assert config_file.config.runners[1].docker is not None
    assert config_file.config.runners[1].docker.memory == "4g"


def test_update_with_none_deletes_the_key_and_nothing_else() -> None:
    config_file = ConfigFile.from_text(HAND_WRITTEN)
    config_file.update_runner(0, {"my_own_key": None})
    assert _changed_lines(HAND_WRITTEN, config_file.dumps()) == ["-  my_own_key = 'literal'"]


def test_update_creates_a_missing_section_in_gitlab_runner_layout() -> None:
    config_file = ConfigFile.from_text(HAND_WRITTEN)
    config_file.update_runner(2, {"ssh": {"host": "build-1", "port": 2222}})
    assert config_file.dumps() == HAND_WRITTEN + '  [runners.ssh]\n    host = "build-1"\n    port = "2222"\n'
    runner = config_file.config.runners[2]
    assert runner.ssh is not None and runner.ssh.port == "2222"


def test_remove_runner_leaves_the_other_entries_identical() -> None:
    config_file = ConfigFile.from_text(HAND_WRITTEN)
    config_file.remove_runner(1)
    text = config_file.dumps()
    assert "second" not in text
    assert text == HAND_WRITTEN.replace(
        HAND_WRITTEN[HAND_WRITTEN.index("# --- second") : HAND_WRITTEN.index("# --- third")], ""
    )
    assert [r.name for r in config_file.config.runners] == ["first", "third"]
    assert [r.index for r in config_file.config.runners] == [0, 1]


def test_remove_last_runner_leaves_no_trailing_blank_line() -> None:
    config_file = ConfigFile.from_text(HAND_WRITTEN)
    config_file.remove_runner(2)
    assert config_file.dumps() == HAND_WRITTEN[: HAND_WRITTEN.index("\n# --- third")]
    config_file.remove_runner(0)
    assert [r.name for r in config_file.config.runners] == ["second"]
    assert "first" not in config_file.dumps() and "[runners.custom_thing]" not in config_file.dumps()


def test_mutations_that_fail_validation_change_nothing() -> None:
    config_file = ConfigFile.from_text(HAND_WRITTEN)
    with pytest.raises(ConfigError, match=r"runners\[1\]\.docker\.memory"):
        config_file.update_runner(1, {"docker": {"memory": 12}})
    assert config_file.dumps() == HAND_WRITTEN
