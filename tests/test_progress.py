"""genai_tf.progress: one text bar that counts batches and shows the latest losses, silent under the test command."""

import keras
import numpy as np
import pytest

from genai_tf import progress


def test_a_hand_written_loop_reaches_its_total_with_the_last_losses(capsys):
    with progress.bar(4, "loop", enabled=True) as bar:
        for step in range(4):
            bar.update(1, d_loss=1.0 / (step + 1), g_loss=np.float32(2.5))
    final = capsys.readouterr().out.split("\r")[-1]
    assert final.startswith("loop: 100%") and "4/4" in final and "d_loss=0.25, g_loss=2.5" in final


def test_fit_counts_every_batch_of_every_epoch(capsys):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.zeros((40, 3), np.float32), np.zeros((40, 1), np.float32)
    model.fit(x, y, batch_size=10, epochs=3, verbose=0, callbacks=[progress.bar(12, "fit", enabled=True)])
    final = capsys.readouterr().out.split("\r")[-1]
    assert "12/12" in final and "loss=0" in final


def test_silent_in_quick_mode_and_under_ci(monkeypatch, capsys):
    monkeypatch.setenv("GENAI_TF_MODE", "quick")
    with progress.bar(3, "quiet") as bar:
        bar.update(3, loss=1.0)
    assert bar.enabled is False and capsys.readouterr().out == ""
    monkeypatch.setenv("GENAI_TF_MODE", "full")
    monkeypatch.setenv("CI", "true")
    assert progress.bar(3).enabled is False


@pytest.mark.parametrize("total", [0, -1, 2.5, "10"])
def test_a_total_that_is_not_a_positive_integer_is_named(total):
    with pytest.raises(ValueError, match="total"):
        progress.bar(total)
