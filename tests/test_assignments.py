"""The course assignments (nbgrader): the release hides every solution, the solutions score full marks.

nbgrader runs on a copy of ``notebooks/assignments/`` under pytest's tmp_path,
with the repository's own ``nbgrader_config.py``, so the release, the
submissions, the autograded copies and the gradebook land in the copy's
``build/assignments/``, never in the repository. Generating the release and
autograding (four notebook runs, each importing TensorFlow) happen once per
session, in module-scoped fixtures; the static checks of the source notebooks
need neither.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ROOT / "notebooks" / "assignments"
SOURCE = ASSIGNMENTS / "source"
COURSE_ID = "genai-tf"  # c.CourseDirectory.course_id in nbgrader_config.py

# Points per assignment, written out so that a notebook whose points change must change this test too.
EXPECTED_POINTS = {"gans": 7, "likelihood_models": 12}
SOLUTION_STUDENT = "solution"
BLANK_STUDENT = "unchanged_release"
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
STUB = "raise NotImplementedError()"


def _load(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _source_notebooks():
    return sorted(SOURCE.glob("*/*.ipynb"))


def _nbgrader_meta(cell):
    return cell["metadata"].get("nbgrader", {})


def _cell_text(cell):
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def _regions(text, markers):
    """The stripped lines between each pair of markers, one list per region."""
    begin, end = markers
    regions, inside = [], None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == begin:
            if inside is not None:
                raise ValueError(f"{begin!r} opened twice without {end!r}")
            inside = []
        elif stripped == end:
            if inside is None:
                raise ValueError(f"{end!r} without {begin!r}")
            regions.append(inside)
            inside = None
        elif inside is not None:
            inside.append(stripped)
    if inside is not None:
        raise ValueError(f"{begin!r} is never closed by {end!r}")
    return regions


def _outside_regions(text):
    """Stripped lines of `text` that are in no solution or hidden-test region (markers excluded)."""
    lines, inside = set(), False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in (SOLUTION_MARKERS[0], HIDDEN_MARKERS[0]):
            inside = True
        elif stripped in (SOLUTION_MARKERS[1], HIDDEN_MARKERS[1]):
            inside = False
        elif not inside:
            lines.add(stripped)
    return lines


def _nbgrader(*jobs):
    """Run nbgrader command lines, each `(args, cwd)`, at the same time, as `make assignments` runs one.

    Fails with the log of any that fails.
    """
    if importlib.util.find_spec("nbgrader") is None:
        pytest.fail("nbgrader is not installed in this environment; `make venv` installs pyproject.toml's dependencies")
    # nbgrader starts `alembic` by name when it creates a gradebook: the environment's scripts go first on PATH.
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    processes = []
    for args, cwd in jobs:
        # The log goes to a file beside the copy's notebooks/ folder: two pipes could fill and stall one run.
        log_path = Path(cwd).parent.parent / f"nbgrader_{args[0]}.log"
        with open(log_path, "w", encoding="utf-8") as log:
            command = [sys.executable, "-m", "nbgrader", *args]
            processes.append((args, log_path, subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log)))
    failures = []
    for args, log_path, process in processes:
        try:
            process.wait(timeout=900)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.returncode != 0:
            log = log_path.read_text(encoding="utf-8")
            failures.append(f"nbgrader {' '.join(args)} exited with {process.returncode}:\n{log[-5000:]}")
    if failures:
        pytest.fail("\n\n".join(failures))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of notebooks/assignments/ in which `nbgrader generate_assignment` has made the release."""
    top = tmp_path_factory.mktemp("course")
    folder = top / "notebooks" / "assignments"
    shutil.copytree(ASSIGNMENTS, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    _nbgrader((["generate_assignment", "*", "--force"], folder))
    return SimpleNamespace(top=top, folder=folder, build=top / "build" / "assignments")


@pytest.fixture(scope="module")
def grades(course, tmp_path_factory):
    """Autograde the source notebooks (with solutions) and the untouched release, submitted as two students.

    Each student is graded in a copy of the course with its own gradebook, both at once: the four notebook
    runs spend most of their time importing TensorFlow on one core each, and the machine has two.

    Returns {student: (build folder, {assignment: (score, max_score, {test cell: score})})}, read from the
    gradebooks.
    """
    origins = {SOLUTION_STUDENT: course.folder / "source", BLANK_STUDENT: course.build / "release"}
    builds, jobs = {}, []
    for student, origin in origins.items():
        top = tmp_path_factory.mktemp(f"graded_{student}")
        shutil.copytree(course.top, top, dirs_exist_ok=True)
        builds[student] = top / "build" / "assignments"
        for assignment in EXPECTED_POINTS:
            target = builds[student] / "submitted" / student / assignment
            target.mkdir(parents=True)
            for notebook in (origin / assignment).glob("*.ipynb"):
                shutil.copy(notebook, target)
        jobs.append((["autograde", "*", "--force"], top / "notebooks" / "assignments"))
    _nbgrader(*jobs)

    from nbgrader.api import Gradebook

    results = {}
    for student, build in builds.items():
        scores = {}
        with Gradebook(f"sqlite:///{build / 'gradebook.db'}", course_id=COURSE_ID) as gradebook:
            for assignment in EXPECTED_POINTS:
                submission = gradebook.find_submission(assignment, student)
                cells = {grade.name: grade.score for notebook in submission.notebooks for grade in notebook.grades}
                scores[assignment] = (submission.score, submission.max_score, cells)
        results[student] = (build, scores)
    return results


# ---- the source notebooks, statically ------------------------------------------------------------


def test_assignments_follow_the_nbgrader_course_layout():
    assert (ASSIGNMENTS / "nbgrader_config.py").is_file()
    assert sorted(p.name for p in SOURCE.iterdir() if p.is_dir()) == sorted(EXPECTED_POINTS)
    for assignment in EXPECTED_POINTS:
        assert list((SOURCE / assignment).glob("*.ipynb")), f"source/{assignment}/ holds no notebook"
    # Nothing generated belongs beside the sources (nbval would collect a stray release or autograded copy).
    entries = sorted(p.name for p in ASSIGNMENTS.iterdir() if not p.name.startswith("."))
    assert entries == ["nbgrader_config.py", "source"], entries


@pytest.mark.parametrize("path", _source_notebooks(), ids=lambda p: p.parent.name)
def test_graded_cells_carry_nbgrader_metadata_and_points(path):
    notebook = _load(path)
    points, grade_ids, answers, tests = 0, [], 0, 0
    for cell in notebook["cells"]:
        meta = _nbgrader_meta(cell)
        if not meta:
            continue
        assert meta["schema_version"] == 3
        assert {"grade", "solution", "locked", "grade_id"} <= set(meta), meta
        grade_ids.append(meta["grade_id"])
        text = _cell_text(cell)
        if meta["solution"]:  # an autograded answer: student code between the solution markers
            answers += 1
            assert cell["cell_type"] == "code" and not meta["grade"] and not meta["locked"], meta
            assert len(_regions(text, SOLUTION_MARKERS)) == 1, meta["grade_id"]
        elif meta["grade"]:  # an autograder test: locked, worth points, with hidden tests
            tests += 1
            assert cell["cell_type"] == "code" and meta["locked"], meta
            assert meta["points"] > 0, meta["grade_id"]
            points += meta["points"]
            assert len(_regions(text, HIDDEN_MARKERS)) == 1, f"{meta['grade_id']} has no hidden tests"
            assert text.index("assert") < text.index(HIDDEN_MARKERS[0]), f"{meta['grade_id']} has no visible tests"
            assert not _regions(text, SOLUTION_MARKERS)
        else:  # read-only instructions, setup and helpers
            assert meta["locked"], meta
            assert SOLUTION_MARKERS[0] not in text and HIDDEN_MARKERS[0] not in text
    assert len(grade_ids) == len(set(grade_ids)), "duplicate grade_id"
    assert answers == tests, "each answer cell is followed by its own test cell"
    assert points == EXPECTED_POINTS[path.parent.name]


def test_at_least_six_graded_exercises():
    tests = [
        cell
        for path in _source_notebooks()
        for cell in _load(path)["cells"]
        if _nbgrader_meta(cell).get("grade") and not _nbgrader_meta(cell).get("solution")
    ]
    assert len(tests) >= 6


@pytest.mark.parametrize("path", _source_notebooks(), ids=lambda p: p.parent.name)
def test_source_notebook_is_stored_run_in_order_without_errors(path):
    cells = [c for c in _load(path)["cells"] if c["cell_type"] == "code" and _cell_text(c).strip()]
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{path.name}: not run top to bottom: {counts}"
    errors = [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"{path.name} stores an error: {errors[0].get('ename')}"
    printed = ["".join(o.get("text", "")) for c in cells for o in c["outputs"] if o["output_type"] == "stream"]
    assert "mode=" in printed[0], "the first cell calls genai_tf.setup_notebook()"


# ---- nbgrader: the release and autograding ---------------------------------------------------------


def test_release_is_generated_for_every_assignment_outside_the_notebooks_folder(course):
    for assignment in EXPECTED_POINTS:
        source_names = sorted(p.name for p in (course.folder / "source" / assignment).glob("*.ipynb"))
        release_names = sorted(p.name for p in (course.build / "release" / assignment).glob("*.ipynb"))
        assert release_names == source_names, assignment
    assert (course.build / "gradebook.db").is_file()
    # The copy's notebooks/assignments/ is as it was: nbgrader wrote nothing there.
    assert sorted(p.name for p in course.folder.iterdir()) == ["nbgrader_config.py", "source"]


@pytest.mark.parametrize("path", _source_notebooks(), ids=lambda p: p.parent.name)
def test_release_contains_no_solution_and_no_hidden_test(course, path):
    source = _load(path)
    release = _load(course.build / "release" / path.parent.name / path.name)
    source_text = "\n".join(_cell_text(c) for c in source["cells"])
    release_text = "\n".join(_cell_text(c) for c in release["cells"])
    release_lines = {line.strip() for line in release_text.splitlines()}
    allowed = _outside_regions(source_text)  # lines that also appear outside the regions may stay
    for markers in (SOLUTION_MARKERS, HIDDEN_MARKERS):
        regions = _regions(source_text, markers)
        secret = {line for region in regions for line in region if line and line not in allowed}
        assert regions and secret, f"{path.name}: no {markers[0]} region to check"
        leaked = sorted(secret & release_lines)
        assert not leaked, f"{path.name}: the release contains lines of {markers[0]} regions: {leaked[:5]}"
        assert not any(marker in release_text for marker in markers), f"{path.name}: {markers} left in the release"
    stubs = [line for c in release["cells"] if c["cell_type"] == "code" for line in _cell_text(c).splitlines()]
    assert sum(line.strip() == STUB for line in stubs) == len(_regions(source_text, SOLUTION_MARKERS))
    assert not any(c.get("outputs") for c in release["cells"] if c["cell_type"] == "code"), "outputs not cleared"


def test_autograding_the_solutions_scores_full_points(grades):
    total = 0
    for assignment, points in EXPECTED_POINTS.items():
        score, max_score, cells = grades[SOLUTION_STUDENT][1][assignment]
        assert max_score == points, (assignment, max_score)
        failed = sorted(name for name, cell_score in cells.items() if cell_score == 0)
        assert score == points, f"{assignment}: {score} of {points}; test cells scoring 0: {failed}"
        total += score
    assert total == 19


def test_autograding_the_unchanged_release_scores_zero(grades):
    build, scores = grades[BLANK_STUDENT]
    for assignment, points in EXPECTED_POINTS.items():
        score, max_score, cells = scores[assignment]
        assert (score, max_score) == (0, points), (assignment, score, max_score)
        assert cells and set(cells.values()) == {0}
        # The grader ran every test cell of the release: each fails on the student's NotImplementedError.
        autograded = sorted((build / "autograded" / BLANK_STUDENT / assignment).glob("*.ipynb"))
        assert autograded, f"no autograded copy of {assignment}"
        for path in autograded:
            errors = [
                output["ename"]
                for cell in _load(path)["cells"]
                if _nbgrader_meta(cell).get("grade")
                for output in cell.get("outputs", [])
                if output["output_type"] == "error"
            ]
            assert errors and set(errors) == {"NotImplementedError"}, (path.name, errors)
