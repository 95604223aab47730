"""Every stored notebook's key figures meet its full-mode claims (genai_tf.claims), with the thresholds as they are now.

The notebooks assert their claims as they run; this re-reads the committed
outputs, so a notebook stored from a run that missed a claim, stored in quick
mode, stored before a claim was tightened, or whose figures were edited by
hand fails here. It also checks that each stored run recorded the machine's
speed, which the budget table needs (``genai_tf.run_notebooks``).
"""

from pathlib import Path

import nbformat
import pytest

from genai_tf import claims

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WITHOUT_CLAIMS = {"00_setup_and_data"}   # no trained model, no measured figure: its checks are asserts on data


def _figures(path):
    notebook = nbformat.read(path, as_version=4)
    return notebook, claims.stored_figures(notebook)


def test_every_notebook_has_an_entry_and_every_entry_a_notebook():
    assert sorted(claims.CLAIMS) == [path.stem for path in NOTEBOOKS]
    empty = sorted(stem for stem, listed in claims.CLAIMS.items() if not listed and stem not in WITHOUT_CLAIMS)
    assert not empty, f"notebooks without a single claim: {empty}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_key_figures_meet_the_full_mode_claims(path):
    notebook, figures = _figures(path)
    assert notebook.metadata.get("genai_tf", {}).get("mode") == "full", f"{path.name} was not stored in full mode"
    results = claims.evaluate(path.stem, figures, "full", require=True)
    bad = [f"{status}: {line}" for _, status, line in results if status != "ok"]
    assert not bad, f"{path.name}: " + "; ".join(bad)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_claim_is_checked_in_quick_mode_too_or_the_notebook_has_a_quick_claim(path):
    listed = claims.CLAIMS.get(path.stem, ())
    if listed:
        assert any(claim.applies("quick") for claim in listed), f"{path.stem}: no claim is checked in quick mode"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_stored_run_recorded_the_machine_speed(path):
    record = nbformat.read(path, as_version=4).metadata.get("genai_tf", {})
    gflops = record.get("matmul_gflops", {})
    assert gflops.get("before", 0) > 0 and gflops.get("after", 0) > 0, f"{path.name}: no matmul GFLOP/s recorded"
    mean = (gflops["before"] + gflops["after"]) / 2
    # Both times are stored rounded to 0.1 s, the scaled one computed from the unrounded wall time.
    rounding = 0.05 * mean / 100 + 0.05 + 1e-9
    assert record["reference_seconds"] == pytest.approx(record["seconds"] * mean / 100, abs=rounding)
