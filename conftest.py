"""pytest configuration for nbval: stderr (TensorFlow's start-up lines, warnings) is never compared."""

# nbgrader executes its config file with get_config() defined; --doctest-modules must not import it.
collect_ignore = ["notebooks/assignments/nbgrader_config.py"]


def pytest_collectstart(collector):
    path = getattr(collector, "path", None)
    if path is not None and path.suffix == ".ipynb":
        collector.skip_compare += ("stderr",)
