import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def tiny():
    """The tiny scenario, built once per test session (in memory)."""
    from smkit.synth import make_scenario

    return make_scenario("tiny", seed=0)
