"""Tests of genai_tf.records: the atomic JSON writer (format, NaN refusal, failures, mode) and the reader's errors."""

import json
import math
import os
import stat

import pytest

from genai_tf import records
from genai_tf.records import RecordError, read_json, write_json

RECORD = {"steps": 3, "names": ["a", "b c"], "lr": 0.5, "nested": {"ok": True, "none": None}}
OLD_BYTES = b'{\n "old": 1\n}\n'


@pytest.fixture
def old_file(tmp_path):
    """A target that already holds a record, to check that failures leave it alone."""
    path = tmp_path / "run.json"
    path.write_bytes(OLD_BYTES)
    return path


def assert_untouched(path):
    """``path`` still holds the old bytes and nothing else is in its folder (no temporary file left)."""
    assert path.read_bytes() == OLD_BYTES
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_round_trip_and_str_paths(tmp_path):
    write_json(tmp_path / "run.json", RECORD)
    assert read_json(tmp_path / "run.json") == RECORD
    write_json(str(tmp_path / "other.json"), {"é": "ü"})
    assert read_json(str(tmp_path / "other.json")) == {"é": "ü"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.json", "run.json"]


def test_pretty_form_indent_one_by_default_and_a_final_newline(tmp_path):
    path = tmp_path / "run.json"
    write_json(path, {"steps": 3, "names": ["a"]})
    assert path.read_text(encoding="utf-8") == '{\n "steps": 3,\n "names": [\n  "a"\n ]\n}\n'
    write_json(path, {"steps": 3}, indent=4)
    assert path.read_text(encoding="utf-8") == '{\n    "steps": 3\n}\n'


def test_compact_form_has_no_spaces_or_newlines(tmp_path):
    path = tmp_path / "cache.json"
    write_json(path, {"a": [1, 2], "b": {"c": None}}, compact=True)
    assert path.read_text(encoding="utf-8") == '{"a":[1,2],"b":{"c":null}}'
    assert read_json(path) == {"a": [1, 2], "b": {"c": None}}


@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, {"deep": [1.0, math.nan]}])
def test_nan_and_infinities_refused_and_the_old_file_kept(old_file, bad, compact):
    with pytest.raises(ValueError, match="not JSON compliant"):
        write_json(old_file, {"loss": bad}, compact=compact)
    assert_untouched(old_file)


def test_an_existing_file_is_replaced(old_file):
    write_json(old_file, {"new": 2})
    assert read_json(old_file) == {"new": 2}
    assert sorted(p.name for p in old_file.parent.iterdir()) == ["run.json"]


@pytest.mark.parametrize("failing", ["replace", "fsync", "dumps"])
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failure_during_the_write_leaves_the_target_unchanged(old_file, monkeypatch, failing, error):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(json if failing == "dumps" else os, failing, fail)
    with pytest.raises(type(error)):
        write_json(old_file, {"new": 2})
    assert_untouched(old_file)


def test_written_to_a_hidden_temporary_file_synced_then_renamed(old_file, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        status = os.fstat(fd)
        calls.append(("fsync", status.st_ino, status.st_size))
        real_fsync(fd)

    def replace(source, target):
        source = os.fspath(source)
        calls.append(("replace", os.stat(source).st_ino, os.path.dirname(source), os.path.basename(source), target))
        assert old_file.read_bytes() == OLD_BYTES  # the old record is readable until the rename
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_json(old_file, {"new": 2})
    text = '{\n "new": 2\n}\n'
    assert old_file.read_text() == text
    (_, synced_inode, synced_size), (_, renamed_inode, folder, name, target) = calls
    assert synced_size == len(text)  # flushed before the fsync
    assert synced_inode == renamed_inode == old_file.stat().st_ino
    assert folder == str(old_file.parent) and os.fspath(target) == str(old_file)
    assert name.startswith(".run.json.") and name.endswith(".tmp")


def test_mode_follows_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        write_json(tmp_path / "run.json", {"a": 1})
        with open(tmp_path / "plain.json", "w") as file:
            file.write("{}")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "run.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "plain.json").stat().st_mode) == 0o644


def test_mode_follows_a_umask_set_after_import(tmp_path):
    previous = os.umask(0o077)
    try:
        write_json(tmp_path / "run.json", {"a": 1})
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "run.json").stat().st_mode) == 0o600


def read_error(path, what="settings"):
    """The RecordError message that ``read_json(path, what)`` raises."""
    with pytest.raises(RecordError) as info:
        read_json(path, what=what)
    assert isinstance(info.value, ValueError) and info.value.__cause__ is None
    return str(info.value)


def test_record_error_is_a_value_error():
    assert issubclass(RecordError, ValueError)


def test_read_missing_file(tmp_path):
    path = tmp_path / "absent.json"
    assert read_error(path) == f"The settings file {path} is missing."
    assert read_error(path, what="record") == f"The record file {path} is missing."


@pytest.mark.parametrize(
    "content",
    [b'{"steps": 3', b"", b"{'steps': 3}", b'{"a": 1}}', b'{"a": "\xff\xfe"}', b"\xff\xfe{}"],
    ids=["truncated", "empty", "single-quotes", "trailing", "non-utf8-value", "non-utf8-start"],
)
def test_read_damaged_file(tmp_path, content):
    path = tmp_path / "vocabulary.json"
    path.write_bytes(content)
    message = read_error(path, what="vocabulary")
    assert message.startswith(f"The vocabulary file {path} cannot be read as JSON (") and message.endswith(").")


def test_read_a_folder_instead_of_a_file(tmp_path):
    assert read_error(tmp_path).startswith(f"The settings file {tmp_path} cannot be read as JSON (")


@pytest.mark.parametrize(("content", "kind"), [("[1, 2]", "list"), ("null", "NoneType"), ("3", "int"), ('"x"', "str")])
def test_read_json_that_is_not_an_object(tmp_path, content, kind):
    path = tmp_path / "settings.json"
    path.write_text(content, encoding="utf-8")
    assert read_error(path) == f"The settings file {path} holds {kind}, not a JSON object."

