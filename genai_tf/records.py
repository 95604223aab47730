"""JSON records on disk: one atomic writer and one reader with clear errors.

A record is written to a temporary file in the same folder, flushed to disk
and renamed over the target, so a reader sees the old record or the new one,
never half of one, whatever kills the writer. NaN and infinities are refused
(JSON has no such numbers).

Example:
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_json(folder / "run.json", {"steps": 3})
>>> read_json(folder / "run.json")
{'steps': 3}
"""

import json
import os
import secrets
from pathlib import Path


class RecordError(ValueError):
    """A JSON record that is missing, unreadable or not an object."""


def write_json(path, record, indent=1, compact=False):
    """Write ``record`` to ``path`` atomically (temporary file, fsync, rename); the file's mode follows the umask.

    Args:
        path: the target file; its folder must exist.
        record: a JSON-serialisable value, without NaN or infinities.
        indent: indentation of the pretty form.
        compact: write without spaces or newlines (large caches).
    """
    layout = {"separators": (",", ":")} if compact else {"indent": indent}
    text = json.dumps(record, allow_nan=False, **layout)
    write_text(path, text + ("" if compact else "\n"))


def write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically: a reader sees the old file or the new one, never half.

    A failed write (a full disk, a read-only folder) leaves the old file as it
    was and no temporary file behind, and raises the ``OSError``.
    """
    path = Path(path)
    # A new, hidden file beside the target (O_EXCL: never someone else's), with the mode open() would give.
    temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_json(path, what="record"):
    """The JSON object in ``path``; RecordError naming the file when it is missing, damaged or not an object.

    Args:
        path: the file to read.
        what: what the file is, for the error ("settings", "vocabulary").
    """
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError(f"The {what} file {path} is missing.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RecordError(f"The {what} file {path} cannot be read as JSON ({error}).") from None
    if not isinstance(record, dict):
        raise RecordError(f"The {what} file {path} holds {type(record).__name__}, not a JSON object.")
    return record
