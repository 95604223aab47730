"""Tests of genai_tf.cli.run_folder: settings and state files, checkpoint lookup, never overwriting a run."""

import json

import pytest
import tensorflow as tf

from genai_tf import checkpoints, recipes
from genai_tf.cli import run_folder
from genai_tf.cli.run_folder import RunFolderError


def _checkpoint_at(outdir, step):
    """A Trainer-like checkpoint ``checkpoints/ckpt-<step>`` holding one variable."""
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(1.0)), str(outdir / "checkpoints"), 2)
    manager.save(checkpoint_number=step)


def test_checkpoint_lookup(tmp_path):
    assert run_folder.latest_checkpoint(tmp_path) is None and not run_folder.holds_run(tmp_path)
    _checkpoint_at(tmp_path, 40)
    _checkpoint_at(tmp_path, 120)
    assert checkpoints.checkpoint_step(run_folder.latest_checkpoint(tmp_path)) == 120
    assert run_folder.holds_run(tmp_path)


def test_a_new_run_takes_the_flags_over_the_recipes_defaults(tmp_path):
    recipe = recipes.get("dcgan")
    requested = {"dataset": None, "batch_size": 16, "seed": None, "latent_dim": 8, "chorales": None}
    settings = run_folder.resolve_settings(recipe, tmp_path / "new", False, requested)
    assert settings == {"model": "dcgan", "dataset": "mnist_sample", "batch_size": 16, "seed": 0, "latent_dim": 8,
                        "chorales": None}
    language = run_folder.resolve_settings(recipes.get("char_gru"), tmp_path / "new", False, {"latent_dim": None})
    assert language["batch_size"] == 64 and language["dataset"] == "pydoc_topics"


def test_a_folder_holding_a_run_is_never_reused_without_resume(tmp_path):
    recipe = recipes.get("mlp_gan")
    (tmp_path / "train_metrics.json").write_text("{}")
    with pytest.raises(RunFolderError, match=r"already holds a run \(no checkpoint yet\). Pass --resume to continue "
                                             "it from step 0 with its settings, .* nothing was overwritten"):
        run_folder.resolve_settings(recipe, tmp_path, False, {})
    _checkpoint_at(tmp_path, 20)
    with pytest.raises(RunFolderError, match=r"already holds a run \(last checkpoint: step 20\)"):
        run_folder.resolve_settings(recipe, tmp_path, False, {})
    assert (tmp_path / "train_metrics.json").read_text() == "{}"


def test_resume_needs_the_same_model_and_settings(tmp_path):
    recipe = recipes.get("mlp_gan")
    with pytest.raises(RunFolderError, match="holds no run to resume"):
        run_folder.resolve_settings(recipe, tmp_path, True, {})
    stored = {"model": "mlp_gan", "dataset": "mnist_sample", "batch_size": 16, "seed": 0, "latent_dim": 100,
              "steps_per_epoch": 281, "target_steps": 100, "checkpoint_every": 10}
    run_folder.write(tmp_path / run_folder.SETTINGS_FILE, stored)
    # Settings without a checkpoint (a run killed before its first one) resume from step 0: no dead end.
    assert run_folder.resolve_settings(recipe, tmp_path, True, {}) == stored
    with pytest.raises(RunFolderError, match="holds no trained run of mlp_gan"):
        run_folder.read_trained_settings("mlp_gan", tmp_path)
    _checkpoint_at(tmp_path, 10)
    assert run_folder.resolve_settings(recipe, tmp_path, True, {"batch_size": 16, "seed": None}) == stored
    with pytest.raises(RunFolderError, match="has batch_size=16, seed=0 but the flags say batch_size=32, seed=1"):
        run_folder.resolve_settings(recipe, tmp_path, True, {"batch_size": 32, "seed": 1, "latent_dim": 100})
    with pytest.raises(RunFolderError, match="holds a run of 'mlp_gan', not 'dcgan'"):
        run_folder.resolve_settings(recipes.get("dcgan"), tmp_path, True, {})
    assert run_folder.read_trained_settings("mlp_gan", tmp_path) == stored
    with pytest.raises(RunFolderError, match="holds no trained run of dcgan. Train one first"):
        run_folder.read_trained_settings("dcgan", tmp_path / "empty")


def test_state_files_and_steps_per_epoch(tmp_path):
    run_folder.write_state(tmp_path, {"vocabulary": {"kind": "characters", "tokens": ["a", "b"]}})
    assert json.loads((tmp_path / "vocabulary.json").read_text()) == {"kind": "characters", "tokens": ["a", "b"]}
    assert run_folder.read_state(tmp_path, ("vocabulary",)) == {"vocabulary": {"kind": "characters", "tokens": ["a", "b"]}}
    assert run_folder.read_state(tmp_path, ()) == {}
    with pytest.raises(RunFolderError, match="has no melody.json: the run's melody is unknown"):
        run_folder.read_state(tmp_path, ("melody",))
    assert run_folder.read(tmp_path / "missing.json") is None
    settings = {"dataset": "mnist_sample", "steps_per_epoch": 281}
    assert run_folder.check_steps_per_epoch(settings, 281, True) == 281
    assert run_folder.check_steps_per_epoch(settings, 140, False) == 140   # a new run: nothing to compare
    with pytest.raises(RunFolderError, match="now gives 140 batches an epoch, the run had 281"):
        run_folder.check_steps_per_epoch(settings, 140, True)


def test_history_until_keeps_the_logged_steps_up_to_a_step():
    history = {"step": [5, 10, 15, 20], "loss": [4.0, 3.0, 2.0, 1.0]}
    assert run_folder.history_until(history, 15) == {"step": [5, 10, 15], "loss": [4.0, 3.0, 2.0]}
    assert run_folder.history_until(history, 4) == {"step": [], "loss": []}
    assert run_folder.history_until(history, 99) == history


def test_the_default_folder_and_versions(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_TF_OUTPUTS", str(tmp_path))
    assert run_folder.resolve_outdir("conv_vae", None) == tmp_path / "cli" / "conv_vae"
    assert run_folder.resolve_outdir("conv_vae", "runs/x") == run_folder.Path("runs/x")
    versions = run_folder.versions()
    assert versions["tensorflow"] == tf.__version__ and {"keras", "numpy", "python", "genai_tf"} <= set(versions)
