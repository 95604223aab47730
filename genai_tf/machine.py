"""The machine a run was measured on, and times scaled to the curriculum's reference machine.

The curriculum's budgets (one notebook <= 10 min in full mode, <= 90 s in
quick mode, ``make run`` <= 90 min) hold on the **reference machine**: 2
cores whose 1024 x 1024 float32 matrix product runs at about
:data:`REFERENCE_GFLOPS`. A time measured on a machine ``r`` times as fast is
scaled to the reference by multiplying it by ``r``: every stored notebook
records the matmul figure of the machine that stored it
(:func:`genai_tf.run_notebooks.execute`).
"""

import os
import time

REFERENCE_GFLOPS = 100.0
"""Float32 GFLOP/s of a 1024^2 matmul on the reference machine (2 cores)."""


def matmul_gflops(n=1024, repeats=30):
    """Float32 GFLOP/s of an n x n matrix product in a ``tf.function``: the machine's dense-work roofline.

    One warm-up call, then ``repeats`` products timed together (about 0.6 s at
    the reference).
    """
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    product = tf.function(lambda a, b: tf.matmul(a, b))
    product(a, b).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        result = product(a, b)
    result.numpy()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def to_reference(seconds, gflops, reference=REFERENCE_GFLOPS):
    """``seconds`` measured on a machine of ``gflops``, scaled to the reference machine.

    Example:
    >>> to_reference(300.0, 200.0)   # twice the reference's speed: twice the time there
    600.0
    """
    if not gflops or gflops <= 0:
        raise ValueError(f"gflops must be a positive number. Received: gflops={gflops!r}")
    return float(seconds) * float(gflops) / reference


def description():
    """This machine in one line: CPU model and cores."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"
