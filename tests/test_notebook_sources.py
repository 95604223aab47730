"""The notebooks' text sources: every notebook has one beside it, and the two agree.

Each notebook -- ``notebooks/NN_topic.ipynb`` and every assignment source under
``notebooks/assignments/source/`` -- is paired by jupytext (``notebooks/jupytext.toml``)
with a MyST markdown file of the same name, ``NN_topic.md``, which holds its cells
without outputs: a reviewer reads a notebook's change in the diff of its ``.md``.
These tests read both files with jupytext, offline and without a kernel. A pair has
drifted when the cells read from the ``.md`` (type, source and metadata, in order)
differ from those of the ``.ipynb``; ``make notebook-sources`` repairs it from the
``.ipynb``, ``make sync-notebooks`` from the ``.md`` (keeping the stored outputs).
"""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext.cli import jupytext as jupytext_command
from jupytext.config import find_jupytext_configuration_file

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
ASSIGNMENT_SOURCES = NOTEBOOKS_DIR / "assignments" / "source"
CURRICULUM = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
NOTEBOOKS = CURRICULUM + sorted(ASSIGNMENT_SOURCES.glob("*/*.ipynb"))
CONFIG = NOTEBOOKS_DIR / "jupytext.toml"
TEXT_FORMAT = "md:myst"
# Cell metadata jupytext never writes to a text source: nbclient's timings of each run.
UNSTORED_CELL_METADATA = {"execution"}
# The notebook metadata the .md header keeps (notebooks/jupytext.toml).
HEADER_KEYS = {"jupytext", "kernelspec", "language_info"}
# Characters that have no business in a cell: what is left of "\frac" or "\text" when a
# notebook's markdown went through a Python string without escaping (a form feed, a tab).
CONTROL_CHARACTER = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def _name(path):
    return path.relative_to(NOTEBOOKS_DIR).as_posix()


def _cells(notebook):
    return [(cell.cell_type, cell.source, dict(cell.metadata)) for cell in notebook.cells]


def _as_text_source_holds_it(notebook, name):
    """The cells of ``notebook`` written to MyST markdown and read back: jupytext's normalisation.

    Raises:
        ValueError: naming the notebook, when jupytext cannot read back what it wrote.
    """
    try:
        return _cells(jupytext.reads(jupytext.writes(notebook, fmt=TEXT_FORMAT), fmt=TEXT_FORMAT))
    except Exception as error:  # YAML, nbformat and jupytext errors alike
        message = f"{name} does not survive MyST markdown (a control character in a cell?): {error}"
        raise ValueError(message) from error


def _source_difference(expected, found):
    """The first line at which two cell sources differ, quoted from both."""
    lines = list(zip(expected.splitlines() + [""], found.splitlines() + [""]))
    line = next((i for i, (a, b) in enumerate(lines) if a != b), None)
    if line is None:  # the same lines, told apart by a line ending
        return f"source: .ipynb has {expected!r}, .md has {found!r}"
    return f"source, line {line + 1}: .ipynb has {lines[line][0]!r}, .md has {lines[line][1]!r}"


def _first_difference(expected, found):
    """(index, what) of the first cell at which two lists of (type, source, metadata) differ, or None."""
    for index, ((want_type, want_source, want_metadata), (have_type, have_source, have_metadata)) in enumerate(
        zip(expected, found)
    ):
        if want_type != have_type:
            return index, f"cell type: .ipynb has {want_type!r}, .md has {have_type!r}"
        if want_source != have_source:
            return index, _source_difference(want_source, have_source)
        if want_metadata != have_metadata:
            return index, f"metadata: .ipynb has {want_metadata!r}, .md has {have_metadata!r}"
    if len(expected) != len(found):
        return min(len(expected), len(found)), f"cell count: .ipynb has {len(expected)}, .md has {len(found)}"
    return None


def pair_drift(notebook_path, text_path=None):
    """Say how a notebook and its text source disagree, or return None when they agree.

    Args:
        notebook_path: the ``.ipynb`` file.
        text_path: its MyST text source; by default the ``.md`` beside it.

    Returns:
        None when the cells read from the text source equal the notebook's (after
        jupytext's own normalisation), else a message naming the notebook and the
        index of the first differing cell.
    """
    text_path = notebook_path.with_suffix(".md") if text_path is None else text_path
    name = notebook_path.name
    if not text_path.is_file():
        return f"{name}: no text source {text_path.name} beside it (make notebook-sources)"
    try:
        found = _cells(jupytext.read(text_path, fmt=TEXT_FORMAT))
    except Exception as error:  # jupytext raises YAML, nbformat and its own errors alike
        return f"{name}: its text source {text_path.name} cannot be read by jupytext: {error}"
    try:
        expected = _as_text_source_holds_it(nbformat.read(notebook_path, as_version=4), name)
    except ValueError as error:
        return str(error)
    difference = _first_difference(expected, found)
    if difference is None:
        return None
    index, what = difference
    return (
        f"{name}: {text_path.name} has drifted from it at cell {index} ({what}). Run `make notebook-sources` "
        f"if the .ipynb is right, `make sync-notebooks` if the .md is right."
    )


def _copy_pair(notebook_path, folder):
    """Copy a notebook, its text source and the jupytext configuration into ``folder``."""
    shutil.copy(CONFIG, folder / CONFIG.name)
    for path in (notebook_path, notebook_path.with_suffix(".md")):
        shutil.copy(path, folder / path.name)
    return folder / notebook_path.name, folder / notebook_path.with_suffix(".md").name


def _edit_first_line_of_cell(text_path, cell_type, after):
    """Append " (edited)" to the first line of the first ``cell_type`` cell after index ``after``.

    Returns the edited cell's index; the line edited is one that occurs once in the file.
    """
    text = text_path.read_text(encoding="utf-8")
    for index, cell in enumerate(jupytext.read(text_path, fmt=TEXT_FORMAT).cells):
        line = cell.source.splitlines()[0] if cell.source.strip() else ""
        if index > after and cell.cell_type == cell_type and len(line) > 10 and text.count(line) == 1:
            text_path.write_text(text.replace(line, line + " (edited)"), encoding="utf-8")
            return index
    raise AssertionError(f"{text_path.name} has no {cell_type} cell after {after} with a unique first line")


# ---- the committed pairs ----------------------------------------------------------------------------


def test_every_notebook_under_notebooks_is_paired_with_myst_markdown_by_the_jupytext_config():
    numbers = [int(path.name[:2]) for path in CURRICULUM]
    assert numbers == list(range(len(numbers))) and len(numbers) >= 14, numbers
    assert len(NOTEBOOKS) > len(CURRICULUM), "no assignment source notebook found"
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    assert config["formats"] == f"ipynb,{TEXT_FORMAT}"
    # jupytext (the command line and Jupyter Lab alike) finds that configuration for every notebook.
    for path in NOTEBOOKS:
        assert Path(find_jupytext_configuration_file(str(path.parent))) == CONFIG, _name(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_notebook_and_its_text_source_have_not_drifted_apart(path):
    drift = pair_drift(path)
    assert drift is None, drift


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_text_source_keeps_every_cell_of_the_notebook_exactly(path):
    """The normalisation of the drift check hides nothing: MyST holds each cell's type and source as they are."""
    notebook = nbformat.read(path, as_version=4)
    normalised = _as_text_source_holds_it(notebook, _name(path))
    assert [(t, s) for t, s, _ in normalised] == [(c.cell_type, c.source) for c in notebook.cells], _name(path)
    for index, (cell, (_, _, metadata)) in enumerate(zip(notebook.cells, normalised)):
        dropped = set(cell.metadata) - set(metadata)
        assert dropped <= UNSTORED_CELL_METADATA, f"{_name(path)} cell {index}: the .md loses {dropped}"
        assert metadata == {k: v for k, v in cell.metadata.items() if k not in UNSTORED_CELL_METADATA}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_text_source_header_holds_the_kernel_and_the_lexer_but_no_jupytext_version(path):
    """The header notebooks/jupytext.toml asks for (MyST itself has no syntax for outputs)."""
    text_path = path.with_suffix(".md")
    metadata = jupytext.read(text_path, fmt=TEXT_FORMAT).metadata
    assert set(metadata) == HEADER_KEYS, f"{text_path.name}: header keys {sorted(metadata)}"
    representation = metadata["jupytext"]["text_representation"]
    assert set(representation) == {"extension", "format_name", "format_version"}, text_path.name
    assert (representation["extension"], representation["format_name"]) == (".md", "myst"), text_path.name
    assert metadata["language_info"] == {"name": "python", "pygments_lexer": "ipython3"}, text_path.name
    assert metadata["kernelspec"] == nbformat.read(path, as_version=4).metadata["kernelspec"], text_path.name


def test_no_notebook_cell_holds_a_control_character():
    offenders = [
        f"{_name(path)} cell {index}: {match.group()!r} in "
        f"{cell.source[max(0, match.start() - 20):match.end() + 10]!r}"
        for path in NOTEBOOKS
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells)
        for match in CONTROL_CHARACTER.finditer(cell.source)
    ]
    assert not offenders, "\n".join(offenders)


# ---- the check can fail --------------------------------------------------------------------------------


def test_drift_is_reported_with_the_notebook_name_and_the_first_differing_cell(tmp_path):
    notebook_path, text_path = _copy_pair(CURRICULUM[0], tmp_path)
    assert pair_drift(notebook_path) is None  # the faithful copy agrees
    edited = _edit_first_line_of_cell(text_path, "code", after=2)
    later = _edit_first_line_of_cell(text_path, "markdown", after=edited)
    drift = pair_drift(notebook_path)
    assert drift is not None and drift.startswith(f"{notebook_path.name}: {text_path.name} has drifted")
    assert f"at cell {edited} (source, line 1:" in drift and " (edited)'" in drift, drift
    assert f"cell {later}" not in drift, "the first differing cell is reported, not a later one"


def test_a_dropped_cell_and_a_missing_text_source_are_reported(tmp_path):
    notebook_path, text_path = _copy_pair(CURRICULUM[0], tmp_path)
    notebook = jupytext.read(text_path, fmt=TEXT_FORMAT)
    last = len(notebook.cells) - 1
    notebook.cells = notebook.cells[:-1]
    jupytext.write(notebook, text_path, fmt=TEXT_FORMAT)
    drift = pair_drift(notebook_path)
    assert f"at cell {last} (cell count: .ipynb has {last + 1}, .md has {last})" in drift, drift
    text_path.unlink()
    missing = f"{notebook_path.name}: no text source {text_path.name} beside it (make notebook-sources)"
    assert pair_drift(notebook_path) == missing


def test_an_unreadable_text_source_is_reported(tmp_path):
    notebook_path, text_path = _copy_pair(CURRICULUM[0], tmp_path)
    text_path.write_text(text_path.read_text(encoding="utf-8").replace("\n", "\n\x0c", 3), encoding="utf-8")
    drift = pair_drift(notebook_path)
    assert drift.startswith(f"{notebook_path.name}: its text source {text_path.name} cannot be read"), drift


# ---- the two make targets --------------------------------------------------------------------------------


def test_sync_from_the_text_source_keeps_the_outputs_and_rewrites_nothing_else(tmp_path):
    """`make sync-notebooks` (jupytext --update --to ipynb) and `make notebook-sources` (--to md:myst)."""
    source = min(NOTEBOOKS, key=lambda p: p.stat().st_size)
    notebook_path, text_path = _copy_pair(source, tmp_path)
    stored, stored_text = notebook_path.read_bytes(), text_path.read_text(encoding="utf-8")
    sync = ["--quiet", "--update", "--to", "ipynb", str(text_path)]
    assert jupytext_command(sync) == 0
    assert notebook_path.read_bytes() == stored, "syncing an unchanged pair must leave the .ipynb byte for byte"
    assert jupytext_command(["--quiet", "--to", TEXT_FORMAT, str(notebook_path)]) == 0
    assert text_path.read_text(encoding="utf-8") == stored_text, "regenerating an agreeing pair rewrites its .md"

    edited = _edit_first_line_of_cell(text_path, "code", after=0)
    assert jupytext_command(sync) == 0
    before = nbformat.reads(stored.decode("utf-8"), as_version=4)
    after = nbformat.read(notebook_path, as_version=4)
    assert pair_drift(notebook_path) is None
    assert after.cells[edited].source.splitlines()[0].endswith(" (edited)")
    assert after.metadata == before.metadata
    for index, (old, new) in enumerate(zip(before.cells, after.cells, strict=True)):
        assert (new.id, new.metadata) == (old.id, old.metadata), index
        assert new.source == old.source or index == edited, index
        if old.cell_type == "code":
            assert (new.execution_count, new.outputs) == (old.execution_count, old.outputs), index


# ---- what the other tools make of the text sources -------------------------------------------------------


def test_pytest_and_nbval_collect_the_notebooks_and_never_their_text_sources():
    """`make test` runs `pytest --doctest-modules --nbval-lax notebooks`: only .ipynb cells are collected."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "--nbval-lax", "notebooks"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    collected = {line.split("::")[0] for line in result.stdout.splitlines() if "::" in line}
    assert collected == {path.relative_to(ROOT).as_posix() for path in NOTEBOOKS}, sorted(collected)


def test_nbgrader_copies_no_text_source_into_a_release_or_an_autograded_submission(tmp_path):
    """An assignment's .md holds its solutions and hidden tests, so nbgrader must not copy it.

    ``nbgrader generate_assignment`` and ``autograde`` copy every file of a source folder
    but the notebooks, save those matching ``CourseDirectory.ignore``; this asks nbgrader,
    with the course's own configuration, which files it would copy.
    """
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import find_all_files
    from traitlets.config.loader import PyFileConfigLoader

    folder = tmp_path / "notebooks" / "assignments"  # the configuration creates ../../build/assignments
    folder.mkdir(parents=True)
    shutil.copy(NOTEBOOKS_DIR / "assignments" / "nbgrader_config.py", folder)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()
    ignore = CourseDirectory(config=config).ignore
    for assignment in sorted(p for p in ASSIGNMENT_SOURCES.iterdir() if p.is_dir()):
        assert list(assignment.glob("*.md")), f"{assignment.name}: no text source to guard"
        copied = [Path(f).name for f in find_all_files(str(assignment), ignore + ["*.ipynb"])]
        leaked = [name for name in copied if name.endswith(".md")]
        assert not leaked, (
            f"nbgrader would copy {leaked} of source/{assignment.name} into the student release; "
            f"add '*.md' to c.CourseDirectory.ignore in nbgrader_config.py (now {ignore})"
        )
