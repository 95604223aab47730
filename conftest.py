"""pytest configuration for nbval: stderr (TensorFlow's start-up lines, warnings) is never compared."""


def pytest_collectstart(collector):
    path = getattr(collector, "path", None)
    if path is not None and path.suffix == ".ipynb":
        collector.skip_compare += ("stderr",)
