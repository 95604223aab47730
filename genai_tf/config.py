"""Run configuration in one place: the quick/full mode, seeding, quiet logging.

The mode is read from one environment variable, ``GENAI_TF_MODE``, by one
function, :func:`get_mode`. ``make test`` sets it to ``quick`` so nbval can
execute every notebook on tiny budgets; everything else (``make run``, a
student in JupyterLab) gets ``full``.
"""

import logging
import os
import platform
import shutil
import warnings
from pathlib import Path

from genai_tf import validation
from genai_tf.validation import one_of

MODE_ENV = "GENAI_TF_MODE"
MODES = ("quick", "full")
OUTPUTS_ENV = "GENAI_TF_OUTPUTS"
KEY_FIGURE_PREFIX = "[key figure]"


def get_mode(environ=None):
    """Return the run mode, ``"full"`` unless ``GENAI_TF_MODE`` says otherwise.

    Args:
        environ: mapping to read instead of ``os.environ`` (for tests).

    Returns:
        ``"quick"`` or ``"full"``.

    Raises:
        ValueError: if the variable holds anything else.

    Example:
    >>> get_mode({"GENAI_TF_MODE": "quick"})
    'quick'
    >>> get_mode({})
    'full'
    """
    environ = os.environ if environ is None else environ
    raw = environ.get(MODE_ENV, "full")
    return one_of(raw.strip().lower() or "full", MODES, MODE_ENV)


def budget(*, quick, full, mode=None):
    """Pick a training budget by mode: ``quick`` under the test command, else ``full``.

    Args:
        quick: the value used in quick mode (tiny, for CI).
        full: the value used in full mode (real results on a 2-core CPU).
        mode: override the mode instead of reading ``GENAI_TF_MODE``.

    Returns:
        One of the two values.

    Example:
    >>> budget(quick=10, full=5000, mode="quick")
    10
    """
    if mode is not None:
        one_of(mode, MODES, "mode")
    return quick if (mode or get_mode()) == "quick" else full


def quiet_tensorflow():
    """Silence TensorFlow's and absl's info logs and Python warnings for notebooks.

    Errors still show. Call before heavy TensorFlow work; importing genai_tf
    already sets ``TF_CPP_MIN_LOG_LEVEL`` for the C++ side.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    tf.autograph.set_verbosity(0)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="keras")


def set_seed(seed=0, deterministic=True):
    """Seed Python, NumPy, TensorFlow and Keras; optionally make TF ops deterministic.

    With ``deterministic=True`` (the default) TensorFlow's op determinism is
    switched on and Grappler's dependency optimizer off, so the same seed
    gives the same numbers on the same machine and library versions. The
    second is needed for the fused WGAN-GP step: with op determinism alone,
    about one run in ten of two ``make_wgan_gp_train_step`` steps (on a
    loaded 2-core CPU, also with one thread per op and oneDNN off) ended with
    the generator's first layer up to 6.5e-5 away from the other runs; with
    the dependency optimizer off, 0 of 60 runs differed, and eager execution
    was repeatable too. Results can still differ across machines (other CPU
    instruction sets, oneDNN kernels) and across TensorFlow versions.

    Args:
        seed: integer in [0, 2**32).
        deterministic: also call ``tf.config.experimental.enable_op_determinism``
            and switch off Grappler's ``dependency_optimization``.

    Raises:
        ValueError: if ``seed`` is not an integer in [0, 2**32).
    """
    seed = validation.seed(seed)
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
        tf.config.optimizer.set_experimental_options({"dependency_optimization": False})


def outputs_dir(*parts, fresh=False):
    """Return (and create) a folder for training outputs, git-ignored.

    ``GENAI_TF_OUTPUTS`` overrides the default, ``outputs/`` at the top of the
    repository (beside ``genai_tf/``).

    Args:
        *parts: sub-folders, e.g. ``outputs_dir("03_gan_mnist", "full")``.
        fresh: delete the folder's old contents first (a new run rather than
            a resumed one). Needs at least one part, so the whole outputs
            folder is never deleted.
    """
    root = os.environ.get(OUTPUTS_ENV)
    base = Path(root) if root else Path(__file__).resolve().parent.parent / "outputs"
    path = base.joinpath(*parts)
    if fresh:
        if not parts:
            raise ValueError("outputs_dir(fresh=True) needs a sub-folder name; it never empties outputs/ itself.")
        shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    return path


PRINTED_FIGURES = {}
"""Every key figure printed in this process: {name: the printed text}, read by :mod:`genai_tf.claims`."""


def key_figure(name, value, fmt="{}"):
    """Print a notebook's key figure in the line format ``make run`` summarises, and record it.

    The printed text (not the raw value) is kept in :data:`PRINTED_FIGURES`, so
    a claim checked in the notebook sees exactly what the stored notebook
    shows and what the test of stored figures re-reads.

    Example:
    >>> key_figure("held-out accuracy", 0.9712, "{:.3f}")
    [key figure] held-out accuracy: 0.971
    >>> PRINTED_FIGURES["held-out accuracy"]
    '0.971'
    """
    text = fmt.format(value)
    if "\n" in name + text or ": " in text:
        raise ValueError(f"a key figure is one line, its value without ': '. Received: name={name!r}, value={text!r}")
    PRINTED_FIGURES[name] = text
    print(f"{KEY_FIGURE_PREFIX} {name}: {text}")


def setup_notebook(seed=0, deterministic=True):
    """The first cell of every notebook: quiet logs, seed everything, report the mode.

    Prints one line with the versions, the mode and the seed (the stored
    notebooks are checked to say ``mode=full``).

    Returns:
        The mode, ``"quick"`` or ``"full"``.
    """
    quiet_tensorflow()
    set_seed(seed, deterministic=deterministic)
    import keras
    import tensorflow as tf

    mode = get_mode()
    print(
        f"genai_tf · mode={mode} · seed={seed} · TensorFlow {tf.__version__} · "
        f"Keras {keras.__version__} · Python {platform.python_version()}"
    )
    return mode
