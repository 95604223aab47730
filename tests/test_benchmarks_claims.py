"""The multi-seed claims benchmark (benchmarks/claims.py): the budget reader, the statistics, the table, the resume.

No model is trained: the comparisons are replaced by stand-ins that return
figures by hand, so every check runs in well under a second.
"""

import importlib.util
import json
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "claims.py"


@pytest.fixture(scope="module")
def claims():
    spec = importlib.util.spec_from_file_location("benchmark_claims", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NOTEBOOK = """# Parameters

```{code-cell} ipython3
GAN_STEPS = genai_tf.budget(quick=10, full=1500)   # generator steps
TRAIN_SUBSET = genai_tf.budget(quick=1000, full=None)  # full: every image
GAN_WIDTH = 32
POLICY = "translation,cutout"                        # DiffAugment's operations
EPOCHS = recipes.get("conv_vae").amount(MODE)
MIN_MARGIN = genai_tf.budget(quick=-np.inf, full=10.0)
GAN_STEPS_LOGGED = 3
    INDENTED = 5
```
"""


def test_the_budget_reader_takes_each_form_of_parameter_line(claims, tmp_path):
    path = tmp_path / "12_example.md"
    path.write_text(NOTEBOOK)
    values = claims.read_budgets(path, ["GAN_STEPS", "TRAIN_SUBSET", "GAN_WIDTH", "POLICY", "EPOCHS", "MIN_MARGIN"])
    # The full values; GAN_STEPS is not confused with GAN_STEPS_LOGGED; the recipe line gives the recipe's amount.
    assert values == {"GAN_STEPS": 1500, "TRAIN_SUBSET": None, "GAN_WIDTH": 32, "POLICY": "translation,cutout",
                      "EPOCHS": claims.recipes.get("conv_vae").amount("full"), "MIN_MARGIN": 10.0}


def test_the_budget_reader_names_a_missing_or_unreadable_parameter(claims, tmp_path):
    path = tmp_path / "12_example.md"
    path.write_text(NOTEBOOK + "STEPS = 2 * GAN_STEPS\n")
    with pytest.raises(ValueError, match=r"12_example.md has no line `EVAL_EVERY = genai_tf.budget\(quick=\.\.\., full"):
        claims.read_budgets(path, ["GAN_STEPS", "EVAL_EVERY"])
    with pytest.raises(ValueError, match="has no line `INDENTED"):   # only top-level assignments count
        claims.read_budgets(path, ["INDENTED"])
    with pytest.raises(ValueError, match=r"STEPS = 2 \* GAN_STEPS is not genai_tf.budget"):
        claims.read_budgets(path, ["STEPS"])


def test_every_comparison_reads_its_budget_from_the_notebooks_as_they_are(claims):
    for name, comparison in claims.COMPARISONS.items():
        full, smoke = comparison.budget(1.0), comparison.budget(0.01)
        assert json.loads(json.dumps(full)) == full, name
        assert full != smoke, name   # the scale reaches at least one training budget


def test_scaled_budgets_round_and_never_reach_zero(claims):
    assert [claims.scaled(8000, 0.01), claims.scaled(15, 0.01), claims.scaled(250, 0.01), claims.scaled(4, 2.0)] \
        == [80, 1, 2, 8]


ROW_DEFAULTS = dict(op="<", threshold=0.0, fmt="{:.1f}")


def figures_by_seed():
    # FDs of three seeds: A = 60, 70, 62; B = 75, 68, 80. Differences -15, +2, -18.
    return {"0": {"A": 60.0, "B": 75.0}, "1": {"A": 70.0, "B": 68.0}, "2": {"A": 62.0, "B": 80.0}}


def test_the_difference_is_summarised_over_per_seed_differences(claims):
    row = claims.Row("FD", "A", "B", **ROW_DEFAULTS)
    summary = claims.row_summary(row, figures_by_seed(), "<", 0.0)
    assert summary["difference"] == [-15.0, 2.0, -18.0]
    mean, sd = summary["difference_mean_sd"]
    # By hand: mean (-15 + 2 - 18) / 3 = -31/3; deviations -14/3, 37/3, -23/3; squares 196/9 + 1369/9 + 529/9
    # = 2094/9; over n - 1 = 2: 1047/9 = 116.33..., sd 10.786...
    assert mean == pytest.approx(-31 / 3)
    assert sd == pytest.approx((1047 / 9) ** 0.5)
    # Not the spread of the means: sd(A) = 5.29, sd(B) = 6.03, and sqrt(sd_A^2 + sd_B^2) = 8.02 differs.
    assert summary["a_mean_sd"][1] == pytest.approx(28 ** 0.5) and summary["b_mean_sd"][1] == pytest.approx((109 / 3) ** 0.5)
    assert summary["agree"] == 2   # seeds 0 and 2 have A < B, seed 1 does not
    assert claims.mean_sd([4.0]) == (4.0, None)
    with pytest.raises(ValueError, match="values must hold at least one number"):
        claims.mean_sd([])


def test_a_diverged_seed_is_left_out_of_the_statistics(claims):
    seeds = {**figures_by_seed(), "3": {"A": None, "B": 70.0}}
    summary = claims.row_summary(claims.Row("FD", "A", "B", **ROW_DEFAULTS), seeds, "<", 0.0)
    assert summary["seeds"] == [0, 1, 2]


def stand_in_comparisons(claims, calls):
    """One fake comparison: its budget is {"steps": 100 * scale}; seed s gives A = 60 + s, B = 70 - s."""
    def run(budget, seed):
        calls.append((budget["steps"], seed))
        return {"A": 60.0 + seed, "B": 70.0 - seed, "training seconds, A": 1.5}

    row = claims.Row("FD (lower is better)", "A", "B", **ROW_DEFAULTS)
    budget = lambda scale: {"steps": claims.scaled(100, scale)}  # noqa: E731
    return {"04_dcgan": claims.Comparison("04_dcgan", budget, run, (row,))}


@pytest.fixture
def stand_ins(claims, monkeypatch):
    calls = []
    monkeypatch.setattr(claims, "COMPARISONS", stand_in_comparisons(claims, calls))
    gflops = iter([101.0, 99.0, 100.0, 98.0, 97.0, 96.0, 95.0, 94.0])
    monkeypatch.setattr(claims, "matmul_gflops", lambda: next(gflops))
    return calls


def test_the_table_shows_means_sds_the_difference_and_the_agreement(claims, stand_ins, tmp_path):
    record = claims.run(["04_dcgan"], [0, 1, 2], 1.0, tmp_path / "claims.json")
    lines = claims.table(record, ["04_dcgan"]).splitlines()
    cells = [[cell.strip() for cell in line.split(" | ")] for line in lines[:3]]
    assert cells[0] == ["comparison", "seeds", "A mean ± sd", "B mean ± sd", "A - B mean ± sd", "claim", "agree"]
    bars = [[i for i, char in enumerate(line) if char in "+|"] for line in lines[:3]]
    assert set(lines[1]) == {"-", "+"} and bars[0] == bars[1] == bars[2]   # the columns line up
    # A = 60, 61, 62: mean 61, sd 1; B = 70, 69, 68: mean 69, sd 1; A - B = -10, -8, -6: mean -8, sd 2.
    assert cells[2] == ["04_dcgan: FD (lower is better)", "3", "61.0 ± 1.0", "69.0 ± 1.0", "-8.0 ± 2.0", "A - B < 0",
                        "3/3"]
    assert lines[-1] == ("04_dcgan: A = A, B = B; per seed (A, B, A - B): seed 0: 60.0, 70.0, -10.0; "
                         "seed 1: 61.0, 69.0, -8.0; seed 2: 62.0, 68.0, -6.0")


def test_the_markdown_table_has_the_same_cells_and_only_the_recorded_comparisons(claims, stand_ins, tmp_path):
    record = claims.run(["04_dcgan"], [0, 1, 2], 1.0, tmp_path / "claims.json")
    lines = claims.markdown_table(record)
    assert lines[0] == "| comparison | seeds | A mean ± sd | B mean ± sd | A - B mean ± sd | claim | agree |"
    assert lines[1] == "|---|---|---|---|---|---|---|"
    assert lines[2] == "| 04_dcgan: FD (lower is better) | 3 | 61.0 ± 1.0 | 69.0 ± 1.0 | -8.0 ± 2.0 | A - B < 0 | 3/3 |"
    assert lines[3] == "" and lines[4].startswith("- 04_dcgan: A = A, B = B; per seed (A, B, A - B): seed 0: 60.0")
    assert len(lines) == 5


def test_the_record_holds_figures_seconds_and_the_matmul_rate_around_each_seed(claims, stand_ins, tmp_path):
    out = tmp_path / "claims.json"
    claims.run(["04_dcgan"], [0, 1], 1.0, out)
    record = json.loads(out.read_text())
    assert record["scale"] == 1.0
    seed_1 = record["comparisons"]["04_dcgan"]["seeds"]["1"]
    assert seed_1["figures"] == {"A": 61.0, "B": 69.0, "training seconds, A": 1.5}
    assert seed_1["budget"] == {"steps": 100}
    assert (seed_1["matmul_gflops_before"], seed_1["matmul_gflops_after"]) == (100.0, 98.0)
    assert seed_1["seconds"] >= 0.0 and seed_1["finished"].endswith("+00:00")


def test_a_seed_in_the_record_is_not_run_again_unless_forced(claims, stand_ins, tmp_path, capsys):
    out = tmp_path / "claims.json"
    claims.run(["04_dcgan"], [0], 1.0, out)          # a first session
    record = claims.run(["04_dcgan"], [0, 1, 2], 1.0, out)   # a second one resumes
    assert stand_ins == [(100, 0), (100, 1), (100, 2)]
    assert "04_dcgan, seed 0: in the record" in capsys.readouterr().out
    assert sorted(record["comparisons"]["04_dcgan"]["seeds"]) == ["0", "1", "2"]
    claims.run(["04_dcgan"], [1], 1.0, out, force=True)
    assert stand_ins[-1] == (100, 1)


def test_a_record_at_another_scale_is_refused(claims, stand_ins, tmp_path):
    out = tmp_path / "claims.json"
    claims.run(["04_dcgan"], [0], 0.01, out)
    assert stand_ins == [(1, 0)]
    with pytest.raises(ValueError, match=r"--scale 1 does not match the record .*written at --scale 0.01"):
        claims.run(["04_dcgan"], [0], 1.0, out)
    assert stand_ins == [(1, 0)]   # refused before any training
    assert claims.default_out(1.0).name == "claims.json" and claims.default_out(0.01).name == "claims_scale0.01.json"


def test_a_seed_recorded_with_another_budget_is_run_again_and_the_stale_ones_left_out(claims, stand_ins, tmp_path,
                                                                                       monkeypatch):
    out = tmp_path / "claims.json"
    claims.run(["04_dcgan"], [0, 1], 1.0, out)
    comparison = claims.COMPARISONS["04_dcgan"]
    changed = claims.Comparison("04_dcgan", lambda scale: {"steps": 200}, comparison.run, comparison.rows)
    monkeypatch.setitem(claims.COMPARISONS, "04_dcgan", changed)   # the notebook's budget changed
    record = claims.run(["04_dcgan"], [0], 1.0, out)
    assert stand_ins[-1] == (200, 0)
    assert "04_dcgan: FD (lower is better) | 1 " in claims.table(record, ["04_dcgan"])   # seed 1 is stale


def test_the_command_line_refuses_bad_arguments(claims):
    with pytest.raises(SystemExit):
        claims.parse_args(["--scale", "0"])
    with pytest.raises(SystemExit):
        claims.parse_args(["--seeds", "0", "0"])
    with pytest.raises(SystemExit):
        claims.parse_args(["--comparisons", "05_conditional_gan"])
    args = claims.parse_args([])
    assert (args.seeds, args.scale, args.force, args.comparisons) == ([0, 1, 2], 1.0, False, list(claims.COMPARISONS))


def test_the_peer_networks_are_read_from_notebook_08_and_a_missing_function_is_named(claims):
    import keras

    build = claims.notebook_function("08_vae_latent_space", "build_peer_networks", {"keras": keras})
    encoder, decoder = build(latent_dim=3)
    assert encoder.output_shape == [(None, 3), (None, 3)]     # mean and log-variance of z
    assert decoder.output_shape == (None, 28, 28, 1)          # Bernoulli logits, one per pixel
    with pytest.raises(ValueError, match="08_vae_latent_space.md defines no function no_such_builder"):
        claims.notebook_function("08_vae_latent_space", "no_such_builder", {})
