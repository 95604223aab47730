"""Tests of genai_tf.checkpoints: checkpoints found by their files, proved whole tensor by tensor, damage moved aside."""

import os

import pytest
import tensorflow as tf

from genai_tf import checkpoints


def _folder(tmp_path, steps=(2, 4, 6)):
    """A checkpoint folder holding a variable and a data iterator (a variant tensor) at each step."""
    iterator = iter(tf.data.Dataset.range(100).shuffle(10, seed=1).repeat())
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(tf.range(5000.0)), iterator=iterator),
                                         str(tmp_path), max_to_keep=None)
    for step in steps:
        next(iterator)
        manager.save(checkpoint_number=step)
    return tmp_path


def test_checkpoint_step_and_prefixes_newest_first(tmp_path):
    assert checkpoints.checkpoint_step("a/ckpt-12") == checkpoints.checkpoint_step("a/ckpt-12.index") == 12
    with pytest.raises(ValueError, match="is not a checkpoint path"):
        checkpoints.checkpoint_step("a/model.keras")
    folder = _folder(tmp_path)
    assert [step for step, _ in checkpoints.checkpoint_prefixes(folder)] == [6, 4, 2]
    assert checkpoints.checkpoint_prefixes(tmp_path / "none") == []
    assert checkpoints.has_entry(folder / "ckpt-6", "iterator") and not checkpoints.has_entry(folder / "ckpt-6", "x")


def test_problem_reads_every_tensor_and_finds_each_kind_of_damage(tmp_path):
    folder = _folder(tmp_path)
    assert checkpoints.problem(folder / "ckpt-6") is None
    data = folder / "ckpt-6.data-00000-of-00001"
    os.truncate(data, data.stat().st_size - 100)
    assert checkpoints.problem(folder / "ckpt-6").startswith(("IndexError", "DataLossError", "OutOfRangeError"))
    raw = bytearray((folder / "ckpt-4.data-00000-of-00001").read_bytes())
    raw[100] ^= 0x01  # one bit of the variable's values
    (folder / "ckpt-4.data-00000-of-00001").write_bytes(bytes(raw))
    assert checkpoints.problem(folder / "ckpt-4").startswith("DataLossError") and "does not match" in \
        checkpoints.problem(folder / "ckpt-4")
    (folder / "ckpt-2.data-00000-of-00001").unlink()
    assert checkpoints.problem(folder / "ckpt-2") == "its data file is missing"
    assert checkpoints.problem(folder / "ckpt-9") == "its index file is missing"


def test_newest_readable_falls_back_and_moves_the_damaged_aside(tmp_path):
    folder = _folder(tmp_path)
    os.truncate(folder / "ckpt-6.data-00000-of-00001", 10)
    chosen, damaged = checkpoints.newest_readable(folder)  # read-only: nothing moves
    assert chosen == folder / "ckpt-4" and [prefix.name for prefix, _ in damaged] == ["ckpt-6"]
    assert (folder / "ckpt-6.index").exists()
    chosen, damaged = checkpoints.newest_readable(folder, move_damaged=True)
    assert chosen == folder / "ckpt-4" and not (folder / "ckpt-6.index").exists()
    assert sorted(path.name for path in (folder / "damaged").iterdir()) == ["ckpt-6.data-00000-of-00001",
                                                                            "ckpt-6.index"]
    assert tf.train.latest_checkpoint(str(folder)).endswith("ckpt-4")  # the list was rewritten
    assert checkpoints.state_problem(folder) is None


def test_the_checkpoint_list_is_checked_and_partial_saves_removed(tmp_path):
    folder = _folder(tmp_path)
    assert checkpoints.state_problem(folder) is None
    for path in folder.glob("ckpt-6.*"):
        path.unlink()
    assert checkpoints.state_problem(folder) == "it names ckpt-6 as the latest, whose files are missing"
    (folder / "checkpoint").write_text("garbage {{{")
    assert checkpoints.state_problem(folder) == "it cannot be parsed"
    chosen, damaged = checkpoints.newest_readable(folder, move_damaged=True)
    assert chosen == folder / "ckpt-4" and damaged == [(folder / "checkpoint", "it cannot be parsed")]
    assert checkpoints.state_problem(folder) is None and tf.train.latest_checkpoint(str(folder)).endswith("ckpt-4")
    (folder / "checkpoint").unlink()
    assert checkpoints.state_problem(folder) is None  # no list at all: the index files are the truth
    (folder / "ckpt-8_temp").mkdir()
    (folder / "ckpt-8_temp" / "part-00000-of-00001.index").write_bytes(b"x")
    (folder / "checkpoint.tmp5d41402a").write_text("half")
    assert checkpoints.remove_partial(folder) == ["checkpoint.tmp5d41402a", "ckpt-8_temp"]
    assert checkpoints.remove_partial(folder) == [] and (folder / "ckpt-4.index").exists()
