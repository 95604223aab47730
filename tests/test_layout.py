"""The layout rules of the package, checked by reading the source with ``ast`` (no import, no TensorFlow).

- No test reaches a private name (one leading underscore, not a dunder) of a
  genai_tf module: no ``from genai_tf.x import _y``, no ``x._y`` on a name an
  import bound to genai_tf, no ``obj._y`` for a private name genai_tf defines,
  no monkeypatch target such as ``"genai_tf.x._y"`` or ``(x, "_y")``.
- No genai_tf module imports or reaches a private name of another genai_tf module.
- Nothing under genai_tf/models/ imports the training loop, the command line or the recipes.
- No module over 600 lines, no function over 60 lines of code (docstrings, blank
  and comment lines not counted, as tools/code_stats.py counts them).

Names of other libraries (Keras, TensorFlow, argparse) are not genai_tf's and are
not checked here.
"""

import ast
import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "genai_tf"
TESTS = REPO / "tests"
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 600, 60
# Calls whose first two arguments are (object, attribute name): setattr, getattr, monkeypatch.setattr,
# monkeypatch.delattr, mock.patch.object, ...
ATTRIBUTE_CALLS = {"setattr", "getattr", "hasattr", "delattr", "object"}
DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def is_private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def module_name(path):
    """genai_tf/models/vae.py -> genai_tf.models.vae; genai_tf/models/__init__.py -> genai_tf.models."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_module(node, module, is_package):
    """The absolute module an ``ImportFrom`` reads from (relative imports resolved against ``module``)."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def in_package(dotted):
    return dotted == "genai_tf" or dotted.startswith("genai_tf.")


def bindings(tree, module="", is_package=False):
    """{local name: dotted genai_tf path} for every name an import (or importlib.import_module) binds."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if in_package(alias.name):
                    bound[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else "genai_tf"
        elif isinstance(node, ast.ImportFrom):
            source = imported_module(node, module, is_package)
            if in_package(source):
                for alias in node.names:
                    if alias.name != "*":
                        bound[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and node.value.args:
            first = node.value.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and in_package(first.value):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        bound[target.id] = first.value
    return bound


def dotted_path(node, bound):
    """``a.b.c`` as a list of names when ``a`` is bound to genai_tf (a pure chain of attributes), else None."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in bound:
        return bound[node.id].split(".") + names[::-1]
    return None


def reaches_private(path_names, own_module):
    """The first private component of a genai_tf path that is not inside ``own_module``."""
    for index, name in enumerate(path_names):
        if is_private(name):
            owner = ".".join(path_names[:index])
            if own_module and (owner == own_module or owner.startswith(own_module + ".")):
                return None
            return name
    return None


def defined_names(tree):
    """Every name a module defines or assigns: functions, classes, variables, ``obj.attribute = ...``."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def package_private_names():
    """The private names genai_tf defines anywhere (functions, methods, module and instance attributes)."""
    return {name for path in PACKAGE.rglob("*.py") for name in defined_names(ast.parse(path.read_text()))
            if is_private(name)}


def private_reaches(source, filename="<source>", module="", is_package=False, package_private=frozenset()):
    """["file:line name (how)"] for every reach into a private name of a genai_tf module other than ``module``.

    ``package_private``: private names genai_tf defines; ``obj._name`` with one of them is reported
    even when ``obj`` is not bound by an import (a model, a parser), unless the source defines the
    name itself.
    """
    tree = ast.parse(source, filename)
    bound = bindings(tree, module, is_package)
    foreign = set(package_private) - defined_names(tree)
    found = []

    def report(node, name, how):
        found.append(f"{filename}:{node.lineno} {name} ({how})")

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source_module = imported_module(node, module, is_package)
            for alias in node.names:
                if in_package(source_module) and source_module != module and is_private(alias.name):
                    report(node, alias.name, f"imported from {source_module}")
                elif in_package(source_module) and reaches_private(source_module.split("."), module):
                    report(node, alias.name, f"imported from private module {source_module}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                private = in_package(alias.name) and reaches_private(alias.name.split("."), module)
                if private:
                    report(node, private, f"import {alias.name}")
        elif isinstance(node, ast.Attribute) and is_private(node.attr):
            owner = dotted_path(node.value, bound)
            if owner is not None:
                private = reaches_private(owner + [node.attr], module)
                if private:
                    report(node, private, f"attribute of {'.'.join(owner)}")
            elif node.attr in foreign:
                report(node, node.attr, "private name genai_tf defines")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.fullmatch(node.value):
            private = in_package(node.value) and reaches_private(node.value.split("."), module)
            if private:
                report(node, private, f"string target {node.value!r}")
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            function = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            target, name = node.args[0], node.args[1]
            if function in ATTRIBUTE_CALLS and isinstance(name, ast.Constant) and isinstance(name.value, str) \
                    and is_private(name.value):
                owner = dotted_path(target, bound)
                if owner is not None and reaches_private(owner + [name.value], module):
                    report(node, name.value, f"{function}() on {'.'.join(owner)}")
                elif owner is None and name.value in foreign:
                    report(node, name.value, f"{function}() of a private name genai_tf defines")
    return sorted(set(found), key=lambda entry: (entry.split(" ")[0].rsplit(":", 1)[0],
                                                  int(entry.split(" ")[0].rsplit(":", 1)[1])))


def imports_of(path):
    """The absolute genai_tf modules (and names) a file imports, with their line numbers."""
    module = module_name(path)
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            source = imported_module(node, module, path.name == "__init__.py")
            yield node.lineno, source
            for alias in node.names:
                yield node.lineno, f"{source}.{alias.name}"
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and getattr(node.func, "attr", None) == "import_module":
            yield node.lineno, node.args[0].value


def code_stats():
    spec = importlib.util.spec_from_file_location("code_stats", REPO / "tools" / "code_stats.py")
    stats = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stats)
    return stats


# --- the detector itself ------------------------------------------------------------------------------


def test_the_private_name_detector_reports_each_kind_of_reach():
    source = "\n".join([
        "import genai_tf.training",                                    # 1
        "from genai_tf import music as m",                             # 2
        "from genai_tf.models.vae import _check, ConvVAE",             # 3
        "genai_tf.training._inputs(1)",                                # 4
        "m._soprano_part(None)",                                       # 5
        "def test(monkeypatch, model):",                               # 6
        "    monkeypatch.setattr('genai_tf.training._inputs', None)",  # 7
        "    monkeypatch.setattr(m, '_soprano_part', None)",           # 8
        "    model._next_logits(1, None)",                             # 9
        "    ConvVAE.__name__, m.__file__, model._learning_rate",      # 10: dunders, names genai_tf does not define
        "    monkeypatch.setattr(m, 'melody_from_stream', None)",      # 11: public
    ])
    found = private_reaches(source, "t.py", package_private={"_next_logits", "_inputs", "_soprano_part"})
    assert found == [
        "t.py:3 _check (imported from genai_tf.models.vae)",
        "t.py:4 _inputs (attribute of genai_tf.training)",
        "t.py:5 _soprano_part (attribute of genai_tf.music)",
        "t.py:7 _inputs (string target 'genai_tf.training._inputs')",
        "t.py:8 _soprano_part (setattr() on genai_tf.music)",
        "t.py:9 _next_logits (private name genai_tf defines)",
    ]
    # Inside genai_tf, a module's own private names are its own; relative imports are resolved.
    own = "import genai_tf.training as me\nme._inputs(1)\nfrom .models import _x\nfrom . import _y\n"
    assert private_reaches(own, "training.py", module="genai_tf.training") == [
        "training.py:3 _x (imported from genai_tf.models)",
        "training.py:4 _y (imported from genai_tf)",
    ]


def test_the_package_defines_the_private_names_the_detector_looks_for():
    private = package_private_names()
    assert {"_soprano_part", "_next_logits"} <= private and not any(name.startswith("__") for name in private)


# --- the rules ------------------------------------------------------------------------------------------


def test_no_test_reaches_a_private_name_of_a_genai_tf_module():
    private = package_private_names()
    found = [
        entry
        for path in sorted(TESTS.rglob("*.py"))
        for entry in private_reaches(path.read_text(), str(path.relative_to(REPO)), package_private=private)
    ]
    assert not found, "Tests reaching a private name of genai_tf (use the public behaviour):\n" + "\n".join(found)


def test_no_genai_tf_module_reaches_a_private_name_of_another():
    found = [
        entry
        for path in sorted(PACKAGE.rglob("*.py"))
        for entry in private_reaches(path.read_text(), str(path.relative_to(REPO)), module=module_name(path),
                                     is_package=path.name == "__init__.py")
    ]
    assert not found, "genai_tf modules reaching a private name of another module:\n" + "\n".join(found)


def test_the_models_import_nothing_from_training_the_command_line_or_the_recipes():
    forbidden = ("genai_tf.training", "genai_tf.cli", "genai_tf.recipes")
    found = sorted({
        f"{path.relative_to(REPO)}:{line} imports {name}"
        for path in sorted((PACKAGE / "models").rglob("*.py"))
        for line, name in imports_of(path)
        if any(name == module or name.startswith(module + ".") for module in forbidden)
    })
    assert not found, "genai_tf/models/ must not import the training loop, the CLI or the recipes:\n" + "\n".join(found)


def test_no_module_over_600_lines_and_no_function_over_60_lines_of_code():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 20
    long_modules = [
        f"{path.relative_to(REPO)}: {lines} lines"
        for path in modules
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    functions = code_stats().functions
    long_functions = [
        f"{name}: {length} lines of code"
        for path in modules
        for length, name in functions(path, REPO)
        if length > MAX_FUNCTION_LINES
    ]
    assert not long_modules + long_functions, (
        f"Modules over {MAX_MODULE_LINES} lines / functions over {MAX_FUNCTION_LINES} lines of code:\n"
        + "\n".join(long_modules + long_functions)
    )


def test_the_size_rule_counts_code_lines_without_docstrings_or_comments(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(61))
    docstring_and_comment = '    """A docstring\n\n    over lines."""\n    # a comment\n\n'
    source = f"def long():\n{docstring_and_comment}{body}\n\n\ndef short():\n    return 1\n"
    (tmp_path / "m.py").write_text(source)
    assert sorted(code_stats().functions(tmp_path / "m.py", tmp_path)) == [(2, "m.py:70 short"), (62, "m.py:1 long")]
