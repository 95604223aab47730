"""environment.yml (conda users) and pyproject.toml (pip) must list the same dependencies."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _normalise(requirement):
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", requirement).groups()
    return re.sub(r"[-_.]+", "-", name).lower(), spec.replace(" ", "")


def _environment_yml():
    """Return (conda dependencies, pip dependencies) of environment.yml, read line by line."""
    conda, pip, in_pip = [], [], False
    for line in (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped.strip().startswith("- "):
            in_pip = in_pip and stripped.startswith("      ")
            continue
        item = stripped.strip()[2:].strip()
        if item == "pip:":
            in_pip = True
        elif in_pip and stripped.startswith("      "):
            pip.append(item)
        else:
            in_pip = False
            conda.append(item)
    return conda, pip


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    conda, pip = _environment_yml()
    from_pyproject = dict(_normalise(r) for r in project["dependencies"])
    from_conda_env = dict(_normalise(r) for r in pip if not r.startswith("-e"))
    assert from_conda_env == from_pyproject, (
        "environment.yml and pyproject.toml disagree. Only in environment.yml: "
        f"{sorted(set(from_conda_env.items()) - set(from_pyproject.items()))}; only in pyproject.toml: "
        f"{sorted(set(from_pyproject.items()) - set(from_conda_env.items()))}"
    )
    assert "-e ." in pip, "environment.yml must install the genai_tf package itself (- -e .)"
    assert "python=3.11" in conda


def test_required_dependencies_are_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {_normalise(r)[0] for r in project["dependencies"]}
    required = {"keras", "tensorflow-datasets", "tensorboard", "matplotlib", "jupyterlab",
                "nbval", "pytest", "mlxtend", "scikit-learn"}
    assert required <= names, f"missing: {sorted(required - names)}"
    assert names & {"tensorflow", "tensorflow-cpu"}
    assert "tensorflow-addons" not in names, "tensorflow-addons is end-of-life and breaks under Keras 3"


def test_tensorflow_range_admits_2_21_and_keras_3():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = dict(_normalise(r) for r in project["dependencies"])
    from packaging.specifiers import SpecifierSet

    tf_spec = specs.get("tensorflow-cpu") or specs["tensorflow"]
    assert "2.21.0" in SpecifierSet(tf_spec)
    assert "3.15.1" in SpecifierSet(specs["keras"]) and "2.15.0" not in SpecifierSet(specs["keras"])
