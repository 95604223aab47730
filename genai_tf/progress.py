"""One progress bar for every long training cell: a text bar with the running losses.

:func:`bar` returns a :class:`ProgressBar`, which is a Keras callback (pass it
to ``fit(..., verbose=0, callbacks=[bar(total)])``, it counts batches) and a
context manager for hand-written loops (``bar.update(1, loss=...)``). It draws
with tqdm's plain-text bar on standard output, so it shows the same in
JupyterLab, a terminal and a stored notebook (``genai_tf.run_notebooks``
keeps only a bar's final state in the stored output). It is silent when
:func:`genai_tf.training.default_verbose` says so: in quick mode (the test
command, nbval) and under CI.
"""

import sys

import keras

from genai_tf.validation import positive_int

LOSS_DIGITS = 4


class ProgressBar(keras.callbacks.Callback):
    """A text progress bar over ``total`` steps that shows the latest losses.

    Args:
        total: positive int, the steps (batches) the bar counts to.
        description: text before the bar, e.g. the model's name.
        enabled: draw the bar; None asks :func:`genai_tf.training.default_verbose`.
        unit: what a step is called ("step", "batch", "epoch").
        mininterval: seconds between redraws.
    """

    def __init__(self, total, description="", enabled=None, unit="step", mininterval=1.0):
        super().__init__()
        from genai_tf.training import default_verbose

        self.total = positive_int(total, "total")
        self.description = description
        self.enabled = default_verbose() if enabled is None else bool(enabled)
        self.unit = unit
        self.mininterval = mininterval
        self._bar = None

    def _open(self):
        if self._bar is None and self.enabled:
            from tqdm.std import tqdm

            self._bar = tqdm(total=self.total, desc=self.description, unit=self.unit, file=sys.stdout,
                             mininterval=self.mininterval, dynamic_ncols=False, ncols=100, leave=True)
        return self._bar

    def update(self, steps=1, **losses):
        """Advance by ``steps`` and show ``losses`` (name=value; tensors are read as floats)."""
        bar = self._open()
        if bar is None:
            return
        if losses:
            bar.set_postfix({name: f"{float(value):.{LOSS_DIGITS}g}" for name, value in losses.items()}, refresh=False)
        bar.update(steps)

    def close(self):
        """Draw the final state and end the bar's line."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self):
        self._open()
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    # --- Keras callback ---------------------------------------------------------------
    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        self.update(1, **{k: v for k, v in logs.items() if _is_number(v)})

    def on_train_end(self, logs=None):
        self.close()


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def bar(total, description="", enabled=None, unit="step"):
    """A :class:`ProgressBar` over ``total`` steps; silent in quick mode and under CI.

    Example (a hand-written loop; with ``enabled=None`` the test command hides it):
    >>> with bar(3, "demo", enabled=False) as progress:
    ...     for step in range(3):
    ...         progress.update(1, loss=1.0 / (step + 1))
    """
    return ProgressBar(total, description, enabled=enabled, unit=unit)
