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
    wanted = readme_tables.generate(current, readme_tables.stored_notebooks(), readme_tables.claims_record())
    assert current == wanted, "README.md differs from the stored notebooks or the claims record: run `make readme-tables`"


def test_the_claims_section_is_the_benchmarks_table_of_the_record():
    record = {"scale": 1.0, "comparisons": {"09_text": {"notebook": "09_autoregressive_text", "budget": {"epochs": 4},
              "seeds": {str(seed): {"budget": {"epochs": 4}, "figures": {
                  "held-out bits/char, Transformer": 1.9 + 0.01 * seed, "held-out bits/char, GRU": 2.1}}
                  for seed in (0, 1)}}}}
    lines = readme_tables.claims_table(record)
    assert lines[0].startswith("| comparison | seeds |") and lines[2].startswith("| 09_text: ")
    assert "| 2 | 1.905 ± 0.007 | 2.100 ± 0.000 | -0.195 ± 0.007 |" in lines[2] and lines[2].endswith("| 2/2 |")
    assert readme_tables.claims_table(None)[0].startswith("No multi-seed record is committed yet")


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
        readme_tables.generate("no markers here", [], None)


def test_the_likelihood_section_lists_the_likelihood_table_figures_in_order():
    notebooks = [("15_flows", _notebook(["likelihood table, PixelCNN, exact NLL (nats/image): 85.2",
                                         "FD, DCGAN: 61.4", "likelihood table, conv VAE, -ELBO, a bound (nats/image): 96.0"],
                                        60.0, 100.0, 100.0))]
    assert readme_tables.likelihood_table(notebooks)[2:] == [
        "| PixelCNN | exact NLL (nats/image) | 85.2 | 15 |", "| conv VAE | -ELBO, a bound (nats/image) | 96.0 | 15 |"]
    assert readme_tables.likelihood_table(notebooks[:0]) == ["No stored notebook prints the likelihood table yet."]
