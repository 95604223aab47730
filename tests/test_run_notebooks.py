"""Tests of genai_tf.run_notebooks: each notebook in a fresh kernel, outputs stored, a summary, failures reported.

The notebooks are tiny ones written here with nbformat into a temporary
folder; every run starts a real Jupyter kernel (a second or two each), so one
run of three notebooks is shared by most tests. ``main`` is called in-process:
it sets ``GENAI_TF_MODE`` in this process for the kernels, which monkeypatch
undoes. The kernels' connection files and IPython's history go to the
temporary folder too.
"""

import contextlib
import io

import nbformat
import pytest

from genai_tf import run_notebooks

# Each notebook appends its name to ../ran.txt, relative to the kernel's working folder: the order they ran in.
LOG_RUN = "with open('../ran.txt', 'a') as log:\n    log.write({name!r} + '\\n')"
NOTEBOOKS = {
    "01_first": [
        LOG_RUN.format(name="01_first"),
        "import os\nprint('mode', os.environ['GENAI_TF_MODE'])\nprint('cwd', os.getcwd())",
        "leftover = 'defined by 01_first'\nprint(2 + 3)",
        "import sys\nfor percent in (10, 50, 100):\n    sys.stdout.write(f'\\rbar {percent:3d}%')\n    sys.stdout.flush()\nprint()",
    ],
    "02_broken": [
        LOG_RUN.format(name="02_broken"),
        "raise ValueError('broken on purpose')",
        "print('after the error')",
    ],
    "03_last": [
        LOG_RUN.format(name="03_last"),
        "print('leftover' in globals())",  # a fresh kernel: nothing of 01_first is left
        "from genai_tf import key_figure\nkey_figure('answer', 42)\nkey_figure('ratio', 0.123, '{:.2f}')",
    ],
    # Not matched by the default pattern notebooks/[0-9][0-9]_*.ipynb: never run.
    "scratch": [LOG_RUN.format(name="scratch")],
}


def _write_notebook(path, sources):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    nbformat.write(notebook, path)
    return path


def _read(path):
    return nbformat.read(path, as_version=4)


def _stdout(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def _jupyter_files_under(folder, patch):
    """Keep the kernels' connection files and IPython's profile and history under ``folder``, not in the home folder."""
    patch.setenv("JUPYTER_RUNTIME_DIR", str(folder / "jupyter_runtime"))
    patch.setenv("IPYTHONDIR", str(folder / "ipython"))


def _main(argv):
    """(exit status, what main printed)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = run_notebooks.main(argv)
    return status, printed.getvalue()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """One ``--inplace --mode quick`` run over the default pattern in a folder holding NOTEBOOKS."""
    root = tmp_path_factory.mktemp("project")
    (root / "notebooks").mkdir()
    paths = {name: root / "notebooks" / f"{name}.ipynb" for name in NOTEBOOKS}
    for name, path in paths.items():
        _write_notebook(path, NOTEBOOKS[name])
    before = {name: path.read_bytes() for name, path in paths.items()}
    with pytest.MonkeyPatch.context() as patch:
        _jupyter_files_under(root, patch)
        patch.chdir(root)
        patch.setenv("GENAI_TF_MODE", "full")  # --mode wins over the environment
        status, printed = _main(["--mode", "quick", "--out", "build", "--inplace", "--timeout", "60"])
    return {"root": root, "paths": paths, "before": before, "status": status, "printed": printed}


def test_the_numbered_notebooks_run_in_order_each_in_a_fresh_kernel(project):
    assert (project["root"] / "ran.txt").read_text().split() == ["01_first", "02_broken", "03_last"]
    assert project["printed"].index("02_broken") < project["printed"].index("03_last")
    assert _stdout(_read(project["root"] / "build" / "03_last.ipynb").cells[1]) == "False\n"


def test_the_kernel_sees_the_mode_and_runs_in_the_notebook_folder(project):
    executed = _read(project["root"] / "build" / "01_first.ipynb")
    assert _stdout(executed.cells[1]) == f"mode quick\ncwd {project['root'] / 'notebooks'}\n"
    record = executed.metadata["genai_tf"]
    assert record["mode"] == "quick" and 0 < record["seconds"] < 60


def test_executed_copies_store_every_output_in_order(project):
    executed = _read(project["root"] / "build" / "01_first.ipynb")
    assert [cell.execution_count for cell in executed.cells] == [1, 2, 3, 4]
    assert _stdout(executed.cells[2]) == "5\n" and executed.cells[0].outputs == []


def test_a_redrawn_progress_line_is_stored_in_its_final_state(project):
    assert _stdout(_read(project["root"] / "build" / "01_first.ipynb").cells[3]) == "bar 100%\n"


def test_the_machine_speed_is_stored_and_the_time_scaled_to_the_reference(project):
    record = _read(project["root"] / "build" / "01_first.ipynb").metadata["genai_tf"]
    before, after = record["matmul_gflops"]["before"], record["matmul_gflops"]["after"]
    assert 1 < before < 10_000 and 1 < after < 10_000 and record["cores"] >= 1
    mean = (before + after) / 2
    expected = record["seconds"] * mean / 100
    # Both figures are stored rounded to 0.1 s: the seconds' rounding (0.05 s) grows by mean / 100 when scaled
    # (on a 400 GFLOP/s machine a fixed 0.06 s of slack failed).
    assert record["reference_seconds"] == pytest.approx(expected, abs=0.05 * mean / 100 + 0.05 + 1e-9)


def test_one_line_is_printed_as_each_notebook_finishes(project):
    lines = [line for line in project["printed"].splitlines() if line.startswith("0") and " s at the reference" in line]
    assert [line.split(":")[0] for line in lines] == ["01_first.ipynb", "02_broken.ipynb", "03_last.ipynb"]
    assert lines[0].startswith("01_first.ipynb: ok, ") and lines[1].startswith("02_broken.ipynb: FAILED: ValueError")
    assert not (project["root"] / "build" / "scratch.ipynb").exists()


def test_a_failing_notebook_is_named_stored_with_its_error_and_the_others_still_run(project):
    assert project["status"] == 1
    summary = (project["root"] / "build" / "summary.md").read_text()
    rows = [line for line in summary.splitlines() if line.startswith("| 0")]
    assert [row.split(" | ")[:2] for row in rows] == [
        ["| 01_first.ipynb", "ok"],
        ["| 02_broken.ipynb", "FAILED: ValueError: broken on purpose"],
        ["| 03_last.ipynb", "ok"],
    ]
    assert summary.startswith("# genai-tf notebooks, quick mode\n")
    assert "for 3 notebooks, 1 failed." in summary
    broken = _read(project["root"] / "build" / "02_broken.ipynb")
    errors = [o for o in broken.cells[1].outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "ValueError" and errors[0].evalue == "broken on purpose"
    assert broken.cells[2].execution_count is None and broken.cells[2].outputs == []  # stopped at the error


def test_the_summary_lists_each_notebooks_key_figures(project):
    summary = (project["root"] / "build" / "summary.md").read_text()
    assert "| 03_last.ipynb | ok | " in summary and summary.count("answer: 42; ratio: 0.12 |") == 1
    first = next(line for line in summary.splitlines() if line.startswith("| 01_first"))
    assert first.endswith(" | - |")  # no key figure


def test_inplace_overwrites_only_the_notebooks_that_ran_cleanly(project):
    paths, before = project["paths"], project["before"]
    for name in ("01_first", "03_last"):
        stored = _read(paths[name])
        assert stored.metadata["genai_tf"]["mode"] == "quick"
        assert [cell.execution_count for cell in stored.cells] == list(range(1, len(NOTEBOOKS[name]) + 1))
    assert paths["02_broken"].read_bytes() == before["02_broken"]
    assert paths["scratch"].read_bytes() == before["scratch"]


def test_without_inplace_the_source_is_untouched_and_the_mode_comes_from_the_environment(tmp_path, monkeypatch):
    source = _write_notebook(tmp_path / "07_alone.ipynb", NOTEBOOKS["01_first"][1:])
    before = source.read_bytes()
    monkeypatch.delenv("GENAI_TF_MODE", raising=False)  # no variable: full mode
    _jupyter_files_under(tmp_path, monkeypatch)
    out = tmp_path / "nested" / "build"
    status, _ = _main([str(source), "--out", str(out)])
    assert status == 0 and source.read_bytes() == before
    executed = _read(out / "07_alone.ipynb")
    assert _stdout(executed.cells[0]).startswith("mode full\ncwd ") and executed.metadata["genai_tf"]["mode"] == "full"
    assert "| 07_alone.ipynb | ok |" in (out / "summary.md").read_text()


def test_no_notebook_found_is_an_argument_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        run_notebooks.main(["--out", str(tmp_path / "build")])
    assert exit_info.value.code == 2
    assert "no notebooks found (looked for notebooks/[0-9][0-9]_*.ipynb" in capsys.readouterr().err


@pytest.mark.parametrize(("timeout", "received"), [("0", "0"), ("-5", "-5"), ("1.5", "'1.5'"), ("soon", "'soon'")])
def test_a_timeout_that_is_not_a_positive_integer_is_an_argument_error(tmp_path, monkeypatch, capsys, timeout, received):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        run_notebooks.main(["--timeout", timeout, "--out", str(tmp_path / "build")])
    assert exit_info.value.code == 2
    assert f"argument --timeout: must be a positive integer. Received: {received}" in capsys.readouterr().err
    assert not (tmp_path / "build").exists()   # refused before anything ran or was written


def test_key_figures_are_the_prefixed_stdout_lines_in_order():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="x\n[key figure] first: 1\n"),
            nbformat.v4.new_output("stream", name="stderr", text="[key figure] on stderr: 2\n"),
        ]),
        nbformat.v4.new_markdown_cell("[key figure] in markdown: 3"),
        nbformat.v4.new_code_cell("", outputs=[
            nbformat.v4.new_output("execute_result", data={"text/plain": "'[key figure] a result: 4'"}),
            nbformat.v4.new_output("stream", name="stdout", text="see [key figure] mid-line: 5\n"),
            nbformat.v4.new_output("stream", name="stdout", text="[key figure]  last : 6 \n"),
        ]),
    ])
    assert run_notebooks.key_figures(notebook) == ["first: 1", "last : 6"]
    assert run_notebooks.key_figures(nbformat.v4.new_notebook()) == []
