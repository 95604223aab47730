"""Tests of genai_tf.config: the run mode, budgets, seeding, key figures, the outputs folder.

The test process also runs the notebooks, whose mode comes from the environment:
every change to ``os.environ`` goes through ``monkeypatch`` and is undone.
"""

import random

import numpy as np
import pytest
import tensorflow as tf

import genai_tf
from genai_tf import config


@pytest.mark.parametrize(
    ("environ", "mode"),
    [
        ({}, "full"),
        ({"GENAI_TF_MODE": "quick"}, "quick"),
        ({"GENAI_TF_MODE": " QUICK "}, "quick"),
        ({"GENAI_TF_MODE": "full"}, "full"),
        ({"GENAI_TF_MODE": "Full\n"}, "full"),
        ({"GENAI_TF_MODE": ""}, "full"),
        ({"OTHER": "quick"}, "full"),
    ],
)
def test_get_mode_from_a_mapping(environ, mode):
    assert config.get_mode(environ) == mode


@pytest.mark.parametrize("raw", ["fast", "quick mode", "1"])
def test_get_mode_rejects_other_values(raw):
    with pytest.raises(ValueError) as info:
        config.get_mode({"GENAI_TF_MODE": raw})
    assert "GENAI_TF_MODE" in str(info.value)
    assert repr(raw) in str(info.value)


def test_get_mode_reads_the_environment(monkeypatch):
    monkeypatch.setenv("GENAI_TF_MODE", "quick")
    assert config.get_mode() == "quick"
    monkeypatch.delenv("GENAI_TF_MODE")
    assert config.get_mode() == "full"


def test_budget_with_mode_override(monkeypatch):
    monkeypatch.setenv("GENAI_TF_MODE", "full")
    assert config.budget(quick=10, full=5000, mode="quick") == 10
    assert config.budget(quick=10, full=5000, mode="full") == 5000
    assert config.budget(quick=10, full=5000) == 5000
    monkeypatch.setenv("GENAI_TF_MODE", "quick")
    assert config.budget(quick=10, full=5000) == 10
    assert config.budget(quick=10, full=5000, mode="full") == 5000
    assert genai_tf.budget is config.budget


@pytest.mark.parametrize("mode", ["QUICK", "fast", ""])
def test_budget_rejects_an_invalid_mode(mode):
    with pytest.raises(ValueError, match=rf"^mode must be one of 'quick', 'full'\. Received: mode={mode!r}$"):
        config.budget(quick=1, full=2, mode=mode)


def test_budget_propagates_an_invalid_environment(monkeypatch):
    monkeypatch.setenv("GENAI_TF_MODE", "turbo")
    with pytest.raises(ValueError, match=r"^GENAI_TF_MODE must be one of 'quick', 'full'\. Received: GENAI_TF_MODE='turbo'$"):
        config.budget(quick=1, full=2)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3", None, 2**32])
def test_set_seed_rejects_non_integers_and_seeds_out_of_range(seed):
    with pytest.raises(ValueError, match=r"^seed must be an integer in \[0, 4294967295\] .* Received: seed=") as info:
        config.set_seed(seed)
    assert repr(seed) in str(info.value)


def draws():
    return (
        tf.random.normal((5,)).numpy(),
        np.random.normal(size=5),
        [random.random() for _ in range(3)],
    )


def test_set_seed_switches_on_op_determinism_and_off_the_dependency_optimizer():
    from tensorflow.python.framework.config import is_op_determinism_enabled   # no public getter

    config.set_seed(0)
    assert is_op_determinism_enabled()
    assert tf.config.optimizer.get_experimental_options()["dependency_optimization"] is False


def test_set_seed_makes_draws_repeatable():
    config.set_seed(3)
    first = draws()
    config.set_seed(3)
    again = draws()
    config.set_seed(4)
    other = draws()
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    # A NumPy integer seed is the same seed as the Python int.
    config.set_seed(np.int64(3))
    for a, b in zip(first, draws()):
        np.testing.assert_array_equal(a, b)


def test_key_figure_prints_the_exact_line(capsys):
    config.key_figure("held-out accuracy", 0.97149, "{:.3f}")
    config.key_figure("modes covered", 8)
    assert capsys.readouterr().out == "[key figure] held-out accuracy: 0.971\n[key figure] modes covered: 8\n"


def test_outputs_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GENAI_TF_OUTPUTS", str(tmp_path / "out"))
    path = config.outputs_dir("gan", "samples")
    assert path == tmp_path / "out" / "gan" / "samples"
    assert path.is_dir()
    assert config.outputs_dir() == tmp_path / "out"


def test_outputs_dir_default_is_beside_the_package(monkeypatch, tmp_path):
    monkeypatch.delenv("GENAI_TF_OUTPUTS", raising=False)
    # The default is computed from the module's own path: a stand-in one keeps the repository untouched.
    monkeypatch.setattr(config, "__file__", str(tmp_path / "checkout" / "genai_tf" / "config.py"))
    assert config.outputs_dir() == tmp_path / "checkout" / "outputs"
    assert config.outputs_dir("gan") == tmp_path / "checkout" / "outputs" / "gan"
    assert (tmp_path / "checkout" / "outputs" / "gan").is_dir()


def _tree(root):
    """Every file and folder under ``root``, as sorted relative POSIX paths."""
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*"))


@pytest.fixture
def outputs_tree(monkeypatch, tmp_path):
    """GENAI_TF_OUTPUTS pointed at a folder holding two runs, a sibling whose name extends one, and a file."""
    root = tmp_path / "out"
    for relative in ("run/a/model.keras", "run/b/log.txt", "run_2/model.keras", "other/deep/x.npy", "notes.txt"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(relative)
    monkeypatch.setenv("GENAI_TF_OUTPUTS", str(root))
    return root


def test_outputs_dir_fresh_empties_the_named_folder_and_nothing_else(outputs_tree):
    path = config.outputs_dir("run", fresh=True)
    assert path == outputs_tree / "run" and path.is_dir() and not any(path.iterdir())
    assert _tree(outputs_tree) == [
        "notes.txt", "other", "other/deep", "other/deep/x.npy", "run", "run_2", "run_2/model.keras",
    ]


def test_outputs_dir_fresh_on_a_sub_folder_keeps_its_siblings(outputs_tree):
    path = config.outputs_dir("run", "a", fresh=True)
    assert path == outputs_tree / "run" / "a" and not any(path.iterdir())
    assert (outputs_tree / "run" / "b" / "log.txt").read_text() == "run/b/log.txt"
    assert len(_tree(outputs_tree)) == 10  # only run/a/model.keras is gone


def test_outputs_dir_without_fresh_keeps_the_contents(outputs_tree):
    before = _tree(outputs_tree)
    assert config.outputs_dir("run") == outputs_tree / "run"
    assert _tree(outputs_tree) == before


def test_outputs_dir_fresh_of_a_new_folder_creates_it(outputs_tree):
    assert config.outputs_dir("new", "run", fresh=True).is_dir()
    assert (outputs_tree / "run" / "a" / "model.keras").exists()


def test_outputs_dir_fresh_refuses_to_empty_the_outputs_folder_itself(outputs_tree):
    before = _tree(outputs_tree)
    with pytest.raises(ValueError, match=r"outputs_dir\(fresh=True\) needs a sub-folder name"):
        config.outputs_dir(fresh=True)
    assert _tree(outputs_tree) == before


def test_setup_notebook_reports_mode_and_seed(monkeypatch, capsys):
    monkeypatch.setenv("GENAI_TF_MODE", "quick")
    assert config.setup_notebook(seed=5) == "quick"
    line = capsys.readouterr().out
    assert line.startswith("genai_tf · mode=quick · seed=5 · TensorFlow ")
    assert line.count("\n") == 1
