"""pytest configuration shared by the unit tests, the doctests and nbval.

Hermetic runs: before anything is collected, ``GENAI_TF_OUTPUTS`` points at a
fresh temporary folder for the whole session, so no test, doctest or notebook
executed by nbval (its kernels inherit the environment) writes into the
repository's ``outputs/`` or reads a stale artifact from it. The folder is
removed when the session ends. Notebooks run by nbval share it, as they share
``outputs/`` in a real run: a model one notebook saves is there for the next.

nbval: stderr (TensorFlow's start-up lines, warnings) is never compared.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# nbgrader executes its config file with get_config() defined; --doctest-modules must not import it.
collect_ignore = ["notebooks/assignments/nbgrader_config.py"]

_OUTPUTS_ENV = "GENAI_TF_OUTPUTS"
_REPOSITORY_OUTPUTS = Path(__file__).resolve().parent / "outputs"


def _snapshot(folder):
    """{relative path: (size, mtime)} of every file under ``folder`` ({} when it does not exist)."""
    if not folder.is_dir():
        return {}
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
        if path.is_file()
    }


def pytest_configure(config):
    if hasattr(config, "workerinput"):  # a pytest-xdist worker shares its controller's folder
        return
    folder = tempfile.mkdtemp(prefix="genai_tf_test_outputs_")
    config._genai_tf_outputs = (folder, os.environ.get(_OUTPUTS_ENV))
    config._genai_tf_repository_outputs = (_REPOSITORY_OUTPUTS.exists(), _snapshot(_REPOSITORY_OUTPUTS))
    os.environ[_OUTPUTS_ENV] = folder


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """Fail the session when anything wrote into the repository's ``outputs/`` (the tests must be hermetic)."""
    before = getattr(session.config, "_genai_tf_repository_outputs", None)
    if before is None:
        return
    existed, files = before
    after = _snapshot(_REPOSITORY_OUTPUTS)
    changed = sorted(name for name in after.keys() | files.keys() if after.get(name) != files.get(name))
    created = not existed and _REPOSITORY_OUTPUTS.exists()
    if changed or created:
        listed = ", ".join(changed[:10]) + (" ..." if len(changed) > 10 else "")
        session.config.get_terminal_writer().line(
            f"\nThe test session wrote into the repository's outputs/ (tests must write only under "
            f"{_OUTPUTS_ENV} or tmp_path): {listed or 'the folder itself was created'}",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config):
    saved = getattr(config, "_genai_tf_outputs", None)
    if saved is None:
        return
    folder, previous = saved
    if previous is None:
        os.environ.pop(_OUTPUTS_ENV, None)
    else:
        os.environ[_OUTPUTS_ENV] = previous
    shutil.rmtree(folder, ignore_errors=True)


def pytest_collectstart(collector):
    path = getattr(collector, "path", None)
    if path is not None and path.suffix == ".ipynb":
        collector.skip_compare += ("stderr",)
