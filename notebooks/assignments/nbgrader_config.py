"""nbgrader configuration of the course assignments (read when nbgrader runs in this folder).

The instructor's notebooks stay in ``source/<assignment>/`` here; everything
nbgrader generates -- the student release, submissions, autograded copies,
feedback and the gradebook database -- goes to the git-ignored
``build/assignments/`` at the top of the repository, so nothing generated
lands in ``notebooks/``. Paths are worked out from this file's location:
a copy of the repository's ``notebooks/assignments/`` folder elsewhere
writes to that copy's ``../../build/assignments/``.

    make assignments     # the release of every assignment, into build/assignments/release/
    make autograde       # grades build/assignments/submitted/<student>/<assignment>/
"""

from pathlib import Path

c = get_config()  # noqa: F821 -- defined by traitlets when nbgrader loads this file

HERE = Path(__file__).resolve().parent
BUILD = HERE.parent.parent / "build" / "assignments"
BUILD.mkdir(parents=True, exist_ok=True)  # the gradebook's folder must exist before SQLite opens it

c.CourseDirectory.course_id = "genai-tf"
# root holds release/, submitted/, autograded/, feedback/ and gradebook.db; an absolute
# source_directory keeps the instructor's versions where they are versioned.
c.CourseDirectory.root = str(BUILD)
c.CourseDirectory.source_directory = str(HERE / "source")
# Each source notebook has a paired MyST text source beside it (x.md, see notebooks/jupytext.toml)
# holding its solutions and hidden tests: nbgrader copies every other file of a source folder into
# the release (and into autograded submissions), so the text sources are left out.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.md"]
c.CourseDirectory.db_url = f"sqlite:///{BUILD / 'gradebook.db'}"
# `nbgrader export` would write grades.csv into the current folder, that is into notebooks/.
c.CsvExportPlugin.to = str(BUILD / "grades.csv")

# A fresh kernel imports TensorFlow in its first cell (about 10 s on a 2-core CPU,
# more when the machine is busy); nbgrader's default of 30 s per cell is too tight.
c.Execute.timeout = 300
