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
import platform
import time
from pathlib import Path

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


def cpu_info():
    """This machine's CPU: {"model": name from /proc/cpuinfo, "cores": count, "flags": set of feature flags}."""
    info = {"model": platform.processor() or platform.machine() or "unknown CPU", "cores": os.cpu_count(), "flags": set()}
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return info
    for key, field in (("model name", "model"), ("flags", "flags")):
        line = next((line for line in lines if line.startswith(key)), None)
        if line is not None:
            value = line.split(":", 1)[1].strip()
            info[field] = set(value.split()) if field == "flags" else value
    return info


def description():
    """This machine in one line: CPU model, cores and Python version."""
    cpu = cpu_info()
    return f"{cpu['model']}, {cpu['cores']} cores, Python {platform.python_version()}"
