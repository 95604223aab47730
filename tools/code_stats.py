"""Size figures of the package for reviews: longest functions, largest modules, kind branches.

Usage: python tools/code_stats.py [ROOT]   (ROOT defaults to this checkout)

Prints the 10 longest functions in lines of code (blank lines, comments and
docstrings not counted), the 10 largest modules in lines, the number of
modules at the top of genai_tf/, and the lines of the command line that
branch on a model's kind or family.
"""

import ast
import io
import re
import sys
import tokenize
from pathlib import Path

KIND_BRANCH = re.compile(
    r"""(kind|family|\.corpus)\s*(==|!=|\bin\b)|==\s*["'](image|text|music|vae|gan)["']|\bin\s+(IMAGE|TEXT|MUSIC|LANGUAGE)_MODELS"""
)


def code_lines(source):
    """The numbers of the lines that hold code: not blank, not only a comment."""
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                              tokenize.ENDMARKER):
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines


def docstring_lines(node):
    body = getattr(node, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        return set(range(body[0].lineno, body[0].end_lineno + 1))
    return set()


def functions(path, root):
    source = path.read_text(encoding="utf-8")
    code = code_lines(source)
    tree = ast.parse(source)
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            docs |= docstring_lines(node)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            span = set(range(node.lineno, node.end_lineno + 1))
            yield len((span & code) - docs), f"{path.relative_to(root)}:{node.lineno} {node.name}"


def main(root):
    root = Path(root).resolve()
    package = root / "genai_tf"
    modules = sorted(package.rglob("*.py"))
    found = sorted((f for m in modules for f in functions(m, root)), reverse=True)
    print("Longest functions (lines of code, docstrings excluded):")
    for length, name in found[:10]:
        print(f"  {length:4d}  {name}")
    print("Largest modules (lines):")
    sizes = sorted(((len(m.read_text(encoding="utf-8").splitlines()), m) for m in modules), reverse=True)
    for size, module in sizes[:10]:
        print(f"  {size:5d}  {module.relative_to(root)}")
    print(f"Top-level modules in genai_tf/: {len(list(package.glob('*.py')))}")
    cli = [package / "cli.py"] if (package / "cli.py").exists() else sorted((package / "cli").glob("*.py"))
    branches = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in cli
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if KIND_BRANCH.search(line) and not line.lstrip().startswith("#")
    ]
    print(f"Branches on a model's kind or family in the command line: {len(branches)}")
    for line in branches:
        print(f"  {line}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
