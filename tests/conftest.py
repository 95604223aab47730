"""Fixtures shared by the unit tests.

The evaluation classifier is an explicit, session-wide fixture: trained once
(about a minute) into the session's temporary outputs folder (see the
top-level conftest.py), never read from the repository's ``outputs/``.
"""

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def outputs_root():
    """The session's temporary outputs folder (``GENAI_TF_OUTPUTS``)."""
    folder = Path(os.environ["GENAI_TF_OUTPUTS"])
    assert folder.is_dir() and "genai_tf_test_outputs_" in folder.name
    return folder


@pytest.fixture(scope="session")
def evaluation_classifier(outputs_root):
    """(classifier, path): the real evaluation classifier, trained once this session under ``outputs_root``."""
    from genai_tf import classifier

    path = classifier.default_classifier_path()
    assert outputs_root in path.parents
    return classifier.load_classifier(path), path
