"""genai_tf.machine: the matmul roofline and times scaled to the reference machine."""

import pytest

from genai_tf import machine


def test_a_time_on_a_faster_machine_is_longer_at_the_reference():
    assert machine.to_reference(300.0, 200.0) == 600.0
    assert machine.to_reference(90.0, 100.0) == 90.0
    assert machine.to_reference(60.0, 50.0, reference=100.0) == 30.0


@pytest.mark.parametrize("gflops", [0, -5, None])
def test_a_speed_that_is_not_positive_is_named(gflops):
    with pytest.raises(ValueError, match=f"gflops must be a positive number. Received: gflops={gflops!r}"):
        machine.to_reference(1.0, gflops)


def test_the_matmul_figure_is_a_plausible_cpu_speed():
    gflops = machine.matmul_gflops(n=256, repeats=5)
    assert 0.1 < gflops < 100_000
    assert "cores" in machine.description()
