"""Fault injection: a run folder survives kills, two writers, damaged files, a full disk and a read-only folder.

Each test does to a run of the toy family of ``test_toy_recipe`` what a
hostile but fair user would (kill -9 at a random step, a second writer,
truncated, garbled and edited files, a disk that refuses writes) and asserts
the outcome the run folder guarantees: the same weights and history as an
uninterrupted run, a one-line message and exit 1, never a traceback, and
no file lost or rewritten.
"""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from test_toy_recipe import TOY_POINTS, ToyRecipe, toy_recipe  # noqa: F401 -- the fixture

from genai_tf import checkpoints, cli, recipes, records
from genai_tf.cli import run_folder

TESTS_CLI = Path(__file__).resolve().parent
# A child process that trains the toy family with a slow step (argv[1] seconds), so it can be killed mid-run.
CHILD = f"""
import sys, time
sys.path.insert(0, {str(TESTS_CLI)!r})
import test_toy_recipe as toy
from genai_tf import cli, recipes

import test_faults

class SlowToy(test_faults.BallastToy if "--ballast" in sys.argv else toy.ToyRecipe):
    def train_step(self, model):
        step = super().train_step(model)

        def slow(batch):
            logs = step(batch)
            time.sleep(float(sys.argv[1]))
            return logs

        return slow

recipes.register(SlowToy())
sys.exit(cli.main([arg for arg in sys.argv[2:] if arg != "--ballast"]))
"""


class BallastToy(ToyRecipe):
    """The toy with 40 MB of constant weights, so that a checkpoint takes long enough to be killed in the middle."""

    def run_model(self, settings, state):
        model = super().run_model(settings, state)
        model.ballast = model.add_weight(shape=(10_000_000,), initializer="ones", trainable=False, name="ballast")
        return model


def _json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _train(outdir, *flags):
    return cli.main(["train", "toy_gaussian", "--outdir", str(outdir), *flags])


def _child(tmp_path, seconds_per_step, *argv):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "CI": "true", "TF_CPP_MIN_LOG_LEVEL": "3"}
    log = open(tmp_path / f"child_{len(list(tmp_path.glob('child_*')))}.log", "w")
    return subprocess.Popen([sys.executable, str(script), str(seconds_per_step), *argv], env=env, stdout=log,
                            stderr=subprocess.STDOUT)


def _wait_for(path, process, timeout=120):
    deadline = time.monotonic() + timeout
    while not Path(path).exists():
        assert process.poll() is None, f"the child ended ({process.returncode}) before {path} appeared"
        assert time.monotonic() < deadline, f"{path} did not appear in {timeout} s"
        time.sleep(0.005)


def _mu(outdir):
    """The toy's learned mean, restored from the run's newest whole checkpoint."""
    prefix, _ = checkpoints.newest_readable(Path(outdir) / "checkpoints")
    reader = tf.train.load_checkpoint(str(prefix))
    (name,) = [key for key in reader.get_variable_to_shape_map() if key.startswith("layer_variables/model/0/")]
    return reader.get_tensor(name)


def _latest_whole_step(outdir):
    return checkpoints.checkpoint_step(checkpoints.newest_readable(Path(outdir) / "checkpoints")[0])


def _error(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_kill_9_at_a_random_step_then_resume_ends_as_an_uninterrupted_run_with_the_whole_history(
        toy_recipe, tmp_path):
    assert _train(tmp_path / "a", "--steps", "40", "--checkpoint-every", "4") == 0
    killed = tmp_path / "b"
    child = _child(tmp_path, 0.05, "train", "toy_gaussian", "--steps", "40", "--checkpoint-every", "4",
                   "--outdir", str(killed))
    try:
        _wait_for(killed / "checkpoints" / "ckpt-4.index", child)
        time.sleep(np.random.default_rng(int(time.time())).uniform(0.0, 0.8))  # a random step after the first checkpoint
    finally:
        child.kill()  # SIGKILL: no clean-up
        child.wait()
    history = _json(killed / "train_metrics.json")
    assert history["status"] == "running" and history["step"] >= 4
    assert history["history"]["step"] == list(range(4, history["step"] + 1, 4))
    resumed_at = _latest_whole_step(killed)  # the history may be one checkpoint ahead of the last whole one
    assert resumed_at in (history["step"], history["step"] - 4)
    assert _train(killed, "--resume") == 0
    a, b = _json(tmp_path / "a" / "train_metrics.json"), _json(killed / "train_metrics.json")
    np.testing.assert_array_equal(_mu(killed), _mu(tmp_path / "a"))
    assert b["history"] == a["history"] and b["history"]["step"] == list(range(4, 41, 4))  # no hole
    assert [session["status"] for session in b["sessions"]] == ["killed", "completed"]
    assert b["sessions"][0]["to_step"] == b["sessions"][1]["from_step"] == resumed_at
    np.testing.assert_array_equal(np.load(killed / "samples.npy"), np.load(tmp_path / "a" / "samples.npy"))


def test_a_second_writer_is_refused_naming_the_holder_and_a_killed_holder_leaves_no_stale_lock(
        toy_recipe, tmp_path, capsys):
    outdir = tmp_path / "run"
    assert _train(outdir, "--steps", "4", "--checkpoint-every", "2") == 0
    before = {path.name: path.read_bytes() for path in outdir.iterdir() if path.is_file()}
    with run_folder.writer_lock(outdir, "train toy_gaussian"):
        for argv in (["train", "toy_gaussian", "--resume", "--steps", "8"], ["train", "toy_gaussian", "--seed", "5"],
                     ["sample", "toy_gaussian"]):
            assert cli.main([*argv, "--outdir", str(outdir)]) == 1
            assert f"{outdir} is in use by pid {os.getpid()} (train toy_gaussian); wait until it ends" in _error(capsys)
        assert cli.main(["evaluate", "toy_gaussian", "--outdir", str(outdir)]) == 0  # reading needs no lock
    assert {path.name: path.read_bytes() for path in outdir.iterdir() if path.is_file() and path.name not in (
        ".lock", "eval_metrics.json")} == {name: data for name, data in before.items() if name != ".lock"}
    # A holder killed with SIGKILL: the kernel drops its lock, and the run goes on.
    child = _child(tmp_path, 0.5, "train", "toy_gaussian", "--resume", "--steps", "30", "--outdir", str(outdir))
    try:
        deadline = time.monotonic() + 120
        while "train toy_gaussian" not in (outdir / ".lock").read_text() or str(child.pid) not in (
                outdir / ".lock").read_text():
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        assert cli.main(["sample", "toy_gaussian", "--outdir", str(outdir)]) == 1
        assert f"in use by pid {child.pid} (train toy_gaussian)" in _error(capsys)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert cli.main(["sample", "toy_gaussian", "--outdir", str(outdir)]) == 0


def test_kill_9_during_a_checkpoint_write_then_resume_removes_the_partial_save_and_ends_as_uninterrupted(
        toy_recipe, tmp_path, capsys):
    recipes.unregister("toy_gaussian")
    recipes.register(BallastToy())
    assert _train(tmp_path / "a", "--steps", "24", "--checkpoint-every", "4") == 0
    killed = tmp_path / "b"
    child = _child(tmp_path, 0.02, "train", "toy_gaussian", "--steps", "24", "--checkpoint-every", "4",
                   "--outdir", str(killed), "--ballast")
    folder = killed / "checkpoints"
    try:
        _wait_for(folder / "ckpt-0.index", child)
        deadline = time.monotonic() + 120
        while not list(folder.glob("ckpt-*_temp")):  # a periodic save in progress
            assert child.poll() is None and time.monotonic() < deadline, "no save was caught in progress"
            time.sleep(0.0005)
    finally:
        child.kill()
        child.wait()
    partial = sorted(path.name for path in folder.glob("ckpt-*_temp"))
    capsys.readouterr()
    assert _train(killed, "--resume") == 0
    err = capsys.readouterr().err
    assert not partial or f"Removed what a killed run left in {killed}: {partial[0]}" in err
    assert not list(folder.glob("*_temp*")) and "Traceback" not in err
    np.testing.assert_array_equal(_mu(killed), _mu(tmp_path / "a"))
    assert _json(killed / "train_metrics.json")["history"] == _json(tmp_path / "a" / "train_metrics.json")["history"]


def _checkpoint_files(outdir, step):
    return sorted((outdir / "checkpoints").glob(f"ckpt-{step}.*"))


@pytest.mark.parametrize("damage", ["truncated", "garbled", "data file deleted", "deleted", "state file garbled",
                                    "state file deleted"])
def test_a_damaged_latest_checkpoint_falls_back_to_the_newest_whole_one(toy_recipe, tmp_path, capsys, damage):
    outdir = tmp_path / "run"
    assert _train(outdir, "--steps", "6", "--checkpoint-every", "2") == 0  # keeps ckpt-4 and ckpt-6
    capsys.readouterr()
    data = [path for path in _checkpoint_files(outdir, 6) if ".data-" in path.name][0]
    if damage == "truncated":
        os.truncate(data, data.stat().st_size // 2)
    elif damage == "garbled":
        raw = bytearray(data.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        data.write_bytes(bytes(raw))
    elif damage == "data file deleted":
        data.unlink()
    elif damage == "deleted":
        for path in _checkpoint_files(outdir, 6):
            path.unlink()
    elif damage == "state file garbled":
        (outdir / "checkpoints" / "checkpoint").write_text("garbage {{{")
    else:
        (outdir / "checkpoints" / "checkpoint").unlink()
    assert cli.main(["sample", "toy_gaussian", "--outdir", str(outdir)]) == 0
    out, err = capsys.readouterr()
    whole = damage.startswith("state file")
    assert f"(step {6 if whole else 4}, seed 0)" in out and "Traceback" not in err
    if damage != "deleted" and not whole:
        assert f"warning: Checkpoint {outdir / 'checkpoints' / 'ckpt-6'} cannot be restored" in err
        assert "moved to damaged/, using ckpt-4" in err
        assert not _checkpoint_files(outdir, 6) and list((outdir / "checkpoints" / "damaged").glob("ckpt-6.*"))
    if damage in ("deleted", "state file garbled"):  # the list named the lost ckpt-6, or could not be read
        reason = "it cannot be parsed" if whole else "it names ckpt-6 as the latest, whose files are missing"
        assert f"warning: The checkpoint list {outdir / 'checkpoints' / 'checkpoint'} is wrong ({reason}); " \
               f"rewritten from the checkpoints on disk, using ckpt-{6 if whole else 4}." in err
    if damage == "state file deleted":
        assert "warning" not in err  # the checkpoints are found by their files; nothing was wrong with them
    # Resume redoes the lost steps and ends as the uninterrupted run did.
    assert _train(outdir, "--resume", "--steps", "8") == 0
    assert _train(tmp_path / "whole", "--steps", "8", "--checkpoint-every", "2") == 0
    np.testing.assert_array_equal(_mu(outdir), _mu(tmp_path / "whole"))
    assert _json(outdir / "train_metrics.json")["history"] == _json(tmp_path / "whole" / "train_metrics.json")["history"]


def test_every_checkpoint_damaged_or_none_at_all_is_never_a_dead_end(toy_recipe, tmp_path, capsys):
    outdir = tmp_path / "run"
    assert _train(outdir, "--steps", "2", "--checkpoint-every", "2") == 0  # ckpt-0 and ckpt-2
    for step in (0, 2):
        for path in _checkpoint_files(outdir, step):
            os.truncate(path, 10)
    capsys.readouterr()
    assert cli.main(["sample", "toy_gaussian", "--outdir", str(outdir)]) == 1
    err = _error(capsys)
    assert "No checkpoint in" in err and "train toy_gaussian --resume" in err
    assert _train(outdir, "--resume", "--steps", "4") == 0
    assert "has no whole checkpoint: training starts again at step 0" in capsys.readouterr().out
    # Settings but no checkpoint at all (killed before its step-0 checkpoint): plain train says how to go on.
    bare = tmp_path / "bare"
    bare.mkdir()
    run_folder.write(bare / "settings.json", _json(outdir / "settings.json"))
    run_folder.write(bare / "toy.json", _json(outdir / "toy.json"))
    assert _train(bare, "--steps", "4") == 1
    assert "already holds a run (no checkpoint yet). Pass --resume to continue it from step 0" in _error(capsys)
    assert _train(bare, "--resume") == 0
    np.testing.assert_array_equal(_mu(bare), _mu(outdir))


def test_partial_files_of_a_save_killed_midway_are_removed_on_the_next_start(toy_recipe, tmp_path, capsys):
    outdir = tmp_path / "run"
    assert _train(outdir, "--steps", "4", "--checkpoint-every", "2") == 0
    (outdir / "checkpoints" / "ckpt-6_temp").mkdir()
    (outdir / "checkpoints" / "ckpt-6_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"\0" * 999)
    (outdir / "checkpoints" / "checkpoint.tmp0123abcd").write_text("half")
    (outdir / ".train_metrics.json.0a1b2c3d4e5f.tmp").write_text('{"hist')
    capsys.readouterr()
    assert _train(outdir, "--resume", "--steps", "6") == 0
    err = capsys.readouterr().err
    assert "Removed what a killed run left in" in err and "ckpt-6_temp" in err and "checkpoint.tmp0123abcd" in err
    assert not list(outdir.glob(".*.tmp")) and not list((outdir / "checkpoints").glob("*_temp*"))


def _damage_settings(path, how):
    settings = _json(path)
    if how == "truncated":
        path.write_text(path.read_text()[:40])
        return "cannot be read as JSON"
    if how == "missing key":
        del settings["batch_size"]
        expected = "the key 'batch_size' is missing"
    elif how == "wrong type":
        settings["batch_size"] = "8"
        expected = "batch_size must be a positive integer, not '8'"
    else:
        settings["dataset"] = "cifar10"
        expected = "dataset 'cifar10' is not one toy_gaussian trains on (toy_points)"
    path.write_text(json.dumps(settings))
    return expected


@pytest.mark.parametrize("how", ["truncated", "missing key", "wrong type", "wrong value"])
def test_damaged_settings_are_named_and_nothing_is_rewritten(toy_recipe, tmp_path, capsys, how):
    outdir = tmp_path / "run"
    assert _train(outdir, "--steps", "2", "--checkpoint-every", "2") == 0
    expected = _damage_settings(outdir / "settings.json", how)
    damaged = (outdir / "settings.json").read_bytes()
    capsys.readouterr()
    for argv in (["train", "toy_gaussian", "--resume", "--steps", "4"], ["sample", "toy_gaussian"],
                 ["evaluate", "toy_gaussian"]):
        assert cli.main([*argv, "--outdir", str(outdir)]) == 1
        assert expected in _error(capsys)
    assert (outdir / "settings.json").read_bytes() == damaged


def test_damaged_state_and_history_files_are_named_before_anything_is_rewritten(toy_recipe, tmp_path, capsys):
    outdir = tmp_path / "run"
    assert _train(outdir, "--steps", "2", "--checkpoint-every", "2") == 0
    settings = (outdir / "settings.json").read_bytes()
    capsys.readouterr()
    (outdir / "toy.json").write_text('{"points": 9}')  # edited: its checksum differs
    assert cli.main(["sample", "toy_gaussian", "--outdir", str(outdir)]) == 1
    assert "toy.json is not the toy the run was trained with (its checksum differs" in _error(capsys)
    (outdir / "toy.json").write_text('{"poin')  # truncated
    assert _train(outdir, "--resume", "--steps", "4") == 1
    assert "The toy file" in _error(capsys)
    (outdir / "toy.json").write_text('{"points": 8}')
    (outdir / "train_metrics.json").write_text('{"history": {"step": [2], "loss": []}, "sessions": []}')
    assert _train(outdir, "--resume", "--steps", "4") == 1
    assert "train_metrics.json is damaged" in _error(capsys)
    assert (outdir / "settings.json").read_bytes() == settings  # target_steps not rewritten


def test_a_nan_at_step_1_and_a_stop_before_the_first_checkpoint_roll_back_to_step_0(
        toy_recipe, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(ToyRecipe, "run_data", lambda self, settings: recipes.RunData(
        tf.data.Dataset.from_tensor_slices(np.full_like(TOY_POINTS, np.nan)).repeat().batch(8), 1, {"toy": {}}))
    outdir = tmp_path / "nan"
    assert _train(outdir, "--steps", "4", "--checkpoint-every", "2") == 1
    err = _error(capsys)
    assert "Non-finite loss at step 1" in err and "rolled back to its last good checkpoint (step 0)" in err
    assert "restore()" not in err
    assert _json(outdir / "train_metrics.json")["status"] == "failed"
    monkeypatch.undo()
    # Two Ctrl-C before the first periodic checkpoint (the second stops at once).
    from genai_tf import trainer

    def interrupted(self, dataset, steps, callback=None, before_save=None):
        self.train_step(next(self.attach(dataset)))
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer.Trainer, "fit", interrupted)
    assert _train(tmp_path / "stopped", "--steps", "4", "--checkpoint-every", "2") == cli.INTERRUPTED_EXIT_CODE
    record = _json(tmp_path / "stopped" / "train_metrics.json")
    assert record["status"] == "interrupted" and record["step"] == 0


def test_a_full_disk_keeps_the_last_whole_checkpoint_and_removes_the_partial_one(
        toy_recipe, tmp_path, capsys, monkeypatch):
    outdir = tmp_path / "run"
    assert _train(outdir, "--steps", "2", "--checkpoint-every", "2") == 0
    save = tf.train.CheckpointManager.save

    def full_disk(self, checkpoint_number=None, **kwargs):
        if checkpoint_number == 4:
            partial = Path(self.directory) / "ckpt-4_temp"
            partial.mkdir()
            (partial / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"\0" * 4096)
            raise tf.errors.ResourceExhaustedError(None, None, f"{partial}/part; No space left on device")
        return save(self, checkpoint_number=checkpoint_number, **kwargs)

    monkeypatch.setattr(tf.train.CheckpointManager, "save", full_disk)
    capsys.readouterr()
    assert _train(outdir, "--resume", "--steps", "6") == 1
    err = _error(capsys)
    assert f"Cannot save the run in {outdir}: No space left on device. The partial checkpoint was removed; " \
           "the last whole one (step 2) is kept." in err and "--resume" in err
    assert not list((outdir / "checkpoints").glob("*_temp*"))
    monkeypatch.undo()
    assert _train(outdir, "--resume") == 0
    assert _json(outdir / "train_metrics.json")["history"]["step"] == [2, 4, 6]


def test_a_read_only_folder_gives_one_line_naming_it(toy_recipe, tmp_path, capsys, monkeypatch):
    outdir = tmp_path / "run"
    assert _train(outdir, "--steps", "2", "--checkpoint-every", "2") == 0
    capsys.readouterr()

    def read_only(path, text):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(records, "write_text", read_only)
    assert cli.main(["sample", "toy_gaussian", "--outdir", str(outdir), "--num-samples", "3"]) == 0  # .npy only
    assert cli.main(["evaluate", "toy_gaussian", "--outdir", str(outdir)]) == 1
    assert f"Cannot write eval_metrics.json in {outdir}: Read-only file system." in _error(capsys)
    assert _train(tmp_path / "new", "--steps", "2") == 1
    assert f"Cannot start the run in {tmp_path / 'new'}: Read-only file system." in _error(capsys)


def _tmpfs(folder, size):
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True)
    return mounted.returncode == 0


def test_a_real_full_disk_and_read_only_disk(toy_recipe, tmp_path, capsys):
    disk = tmp_path / "disk"
    if not _tmpfs(disk, "1m"):
        pytest.skip("cannot mount a small tmpfs here (needs root); the mocks above cover the same paths")
    try:
        outdir = disk / "run"
        assert _train(outdir, "--steps", "2", "--checkpoint-every", "2") == 0
        filler = disk / "filler"
        handle = os.open(filler, os.O_WRONLY | os.O_CREAT)  # fill the disk to the last byte
        try:
            while os.write(handle, b"\0" * 512):
                pass
        except OSError as error:
            assert error.errno == errno.ENOSPC
        finally:
            os.close(handle)
        capsys.readouterr()
        assert _train(outdir, "--resume", "--steps", "4") == 1
        err = _error(capsys)
        assert f"in {outdir}: No space left on device" in err
        assert not list((outdir / "checkpoints").glob("*_temp*"))
        filler.unlink()
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        assert cli.main(["sample", "toy_gaussian", "--outdir", str(outdir)]) == 1
        assert f"Cannot open the lock file .lock in {outdir}: Read-only file system." in _error(capsys)
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_arguments_that_passed_argparse_and_crashed(toy_recipe, tmp_path, capsys):
    afile = tmp_path / "a_file"
    afile.write_text("x")
    assert _train(afile, "--steps", "2") == 1
    assert f"--outdir {afile} is a file, not a folder" in _error(capsys)
    # A fresh run never overwrites files it did not write.
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "samples.npy").write_text("keep me")
    assert _train(tmp_path / "mine", "--steps", "2") == 1
    assert "is not empty (samples.npy) and holds no run" in _error(capsys)
    assert (tmp_path / "mine" / "samples.npy").read_text() == "keep me"
    # A model-dependent argument error prints the sub-command's usage, not the top-level one.
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "toy_gaussian", "--dataset", "mnist_sample", "--outdir", str(tmp_path / "x")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m genai_tf train ") and "argument --dataset: toy_gaussian trains on" in err
    for command, value in (("train", "4294967296"), ("sample", "1e23"), ("evaluate", "-1")):
        with pytest.raises(SystemExit) as exit_info:
            cli.main([command, "toy_gaussian", "--seed", value, "--outdir", str(tmp_path / "x")])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(f"usage: python -m genai_tf {command} ") and "argument --seed: must be an integer " \
            "in [0, 4294967295]" in err
