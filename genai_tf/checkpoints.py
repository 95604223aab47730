"""Checkpoint folders that survive kills, full disks and damaged files.

A TensorFlow checkpoint folder holds ``ckpt-N.index`` and
``ckpt-N.data-00000-of-00001`` for each saved step N, and a text file
``checkpoint`` naming the latest. A kill or a full disk during a save leaves
a partial ``ckpt-N_temp`` folder or ``checkpoint.tmp...`` file; a damaged
disk or a hand edit leaves a checkpoint that cannot be read. This module
finds the checkpoints by their files (never trusting the ``checkpoint``
file alone), reads every tensor of the newest one to prove it whole (the
tensor bundle stores a CRC32C of each tensor, so a garbled byte is found),
falls back to the next newest when it is not, and tidies the folder:

- :func:`remove_partial` deletes what an interrupted save left;
- :func:`newest_readable` gives the newest whole checkpoint and the damaged
  newer ones with the reason each failed; with ``move_damaged`` they are
  moved into ``damaged/`` (kept for inspection, never deleted) and the
  ``checkpoint`` file is rewritten to name the whole ones.

Example:
>>> checkpoint_step("runs/gan/checkpoints/ckpt-500")
500
>>> checkpoint_step("runs/gan/checkpoints/ckpt-500.index")
500
"""

import re
import shutil
from pathlib import Path

from genai_tf import records

PREFIX = "ckpt"
STATE_FILE = "checkpoint"
DAMAGED_FOLDER = "damaged"
_INDEX = re.compile(rf"^{PREFIX}-(\d+)\.index$")
_PARTIAL = re.compile(rf"^({PREFIX}-\d+_temp.*|{STATE_FILE}\.tmp.*)$")


class CheckpointWarning(UserWarning):
    """A checkpoint could not be restored and an older one is used, or partial files were removed."""


def checkpoint_step(path):
    """The step number of a checkpoint path such as ``.../ckpt-500`` (or one of its files)."""
    match = re.search(rf"{PREFIX}-(\d+)", Path(path).name)
    if match is None:
        raise ValueError(f"{path} is not a checkpoint path ({PREFIX}-N).")
    return int(match.group(1))


def checkpoint_prefixes(folder):
    """The checkpoints in ``folder`` by their index files, newest first: [(step, prefix path)]."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(match.group(1)), folder / f"{PREFIX}-{match.group(1)}")
             for match in map(_INDEX.match, (path.name for path in folder.iterdir())) if match]
    return sorted(found, reverse=True)


def remove_partial(folder):
    """Delete what interrupted saves left in ``folder`` (``ckpt-N_temp``, ``checkpoint.tmp...``); returns their names.

    Call it only while no other process saves into the folder (the command
    line holds the run folder's lock).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in sorted(folder.iterdir()):
        if _PARTIAL.match(path.name):
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
            removed.append(path.name)
    return removed


def problem(prefix):
    """Why the checkpoint at ``prefix`` cannot be restored (every tensor is read), or None when it is whole."""
    import tensorflow as tf

    prefix = Path(prefix)
    if not prefix.with_name(prefix.name + ".index").is_file():
        return "its index file is missing"
    if not list(prefix.parent.glob(prefix.name + ".data-*")):
        return "its data file is missing"
    try:
        dtypes = tf.train.load_checkpoint(str(prefix)).get_variable_to_dtype_map()
        names = sorted(dtypes)  # RestoreV2 reads variant tensors (a data iterator) too, checking each CRC
        tf.raw_ops.RestoreV2(prefix=str(prefix), tensor_names=names, shape_and_slices=[""] * len(names),
                             dtypes=[dtypes[name] for name in names])
    except Exception as error:  # noqa: BLE001 -- DataLossError, OpError, IndexError, ...: every way a file is damaged
        return f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else 'unreadable'}"
    return None


def has_entry(prefix, name):
    """Whether the whole checkpoint at ``prefix`` saved the object ``name`` (e.g. "iterator")."""
    import tensorflow as tf

    return any(key.split("/", 1)[0] == name for key in tf.train.load_checkpoint(str(prefix)).get_variable_to_shape_map())


def state_problem(folder):
    """What is wrong with the ``checkpoint`` file of ``folder`` (unparseable, or naming missing files), or None.

    No file at all is not a problem: the checkpoints are found by their index files.
    """
    path = Path(folder) / STATE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        return f"it cannot be read ({error})"
    match = re.search(r'^model_checkpoint_path: "([^"]+)"$', text, re.MULTILINE)
    if match is None:
        return "it cannot be parsed"
    named = Path(folder) / Path(match.group(1)).name
    if not named.with_name(named.name + ".index").exists():
        return f"it names {named.name} as the latest, whose files are missing"
    return None


def newest_readable(folder, move_damaged=False):
    """The newest whole checkpoint in ``folder`` and the newer damaged ones: (prefix or None, [(prefix, reason)]).

    A ``checkpoint`` file that cannot be parsed, or names a checkpoint whose
    files are gone, is listed among the damaged as ``(folder/checkpoint, reason)``
    (with ``move_damaged`` it is rewritten, not moved).

    Args:
        folder: the checkpoint folder.
        move_damaged: move each damaged checkpoint's files into ``folder/damaged/``
            and rewrite the ``checkpoint`` file to name the whole ones (only
            while holding the folder: no other process may save into it).
    """
    damaged = []
    chosen = None
    for _, prefix in checkpoint_prefixes(folder):
        reason = problem(prefix)
        if reason is None:
            chosen = prefix
            break
        damaged.append((prefix, reason))
    listing = state_problem(folder)
    if listing is not None:
        damaged.append((Path(folder) / STATE_FILE, listing))
    if move_damaged and damaged:
        target = Path(folder) / DAMAGED_FOLDER
        target.mkdir(exist_ok=True)
        for prefix, _ in damaged:
            for path in prefix.parent.glob(prefix.name + ".*") if prefix.name != STATE_FILE else ():
                path.replace(target / path.name)
        write_state(folder)
    return chosen, damaged


def write_state(folder):
    """Rewrite the ``checkpoint`` file of ``folder`` from the checkpoints on disk (atomically)."""
    prefixes = [prefix.name for _, prefix in reversed(checkpoint_prefixes(folder))]
    if not prefixes:
        Path(folder, STATE_FILE).unlink(missing_ok=True)
        return
    lines = [f'model_checkpoint_path: "{prefixes[-1]}"'] + [f'all_model_checkpoint_paths: "{p}"' for p in prefixes]
    records.write_text(Path(folder) / STATE_FILE, "\n".join(lines) + "\n")
