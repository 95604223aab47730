"""The README's generated tables agree with the stored notebooks (tools/readme_tables.py)."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

from genai_tf import claims
from genai_tf.claims import Claim

REPO = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("readme_tables", REPO / "tools" / "readme_tables.py")
readme_tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme_tables)


def test_the_readme_tables_are_what_the_stored_notebooks_give():
    current = (REPO / "README.md").read_text(encoding="utf-8")
    assert current == readme_tables.generate(current, readme_tables.stored_notebooks()), (
        "README.md differs from the stored notebooks: run `make readme-tables`"
    )


def _notebook(lines, seconds, before, after):
    cell = nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output("stream", name="stdout", text="".join(
        f"[key figure] {line}\n" for line in lines))])
    notebook = nbformat.v4.new_notebook(cells=[cell])
    mean = (before + after) / 2
    notebook.metadata["genai_tf"] = {"mode": "full", "seconds": seconds, "matmul_gflops": {"before": before, "after": after},
                                     "reference_seconds": round(seconds * mean / 100, 1)}
    return notebook


def test_the_tables_show_each_figure_with_its_claim_and_times_scaled_by_the_mean_speed(monkeypatch):
    monkeypatch.setitem(claims.CLAIMS, "98_toy", (Claim("FD, DCGAN", "<", than="FD, MLP GAN"), Claim("share", ">=", full=0.04, quick=0.0)))
    notebooks = [("98_toy", _notebook(["FD, DCGAN: 61.4", "FD, MLP GAN: 75.2", "share: 0.064"], 300.0, 190.0, 210.0))]
    assert readme_tables.key_figures_table(notebooks)[2:] == [
        "| 98 | FD, DCGAN | 61.4 | < FD, MLP GAN |", "| 98 | FD, MLP GAN | 75.2 | - |", "| 98 | share | 0.064 | >= 0.04 |"]
    budget = readme_tables.budget_table(notebooks)
    assert budget[2] == "| 98_toy | full | 300.0 | 190 → 210 | 600 | 100% |"   # 300 s at 200 GFLOP/s = 600 s at 100
    assert budget[3] == "| all | | 300 | | 600 | 11% of 90 min |"


def test_a_readme_without_the_markers_is_named():
    with pytest.raises(ValueError, match="README.md has no generated section 'key-figures'"):
        readme_tables.generate("no markers here", [])
