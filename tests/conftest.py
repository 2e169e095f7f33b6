import os
from pathlib import Path

import numpy as np
from hypothesis import settings

import adamopt

# No deadlines: shared CI machines are noisy, and hypothesis would report a
# slow example as a failure.  Derandomised in CI so a run is reproducible.
settings.register_profile("default", deadline=None, max_examples=300)
settings.register_profile("ci", deadline=None, max_examples=300, derandomize=True,
                          print_blob=True)
# A long local run: HYPOTHESIS_PROFILE=thorough pytest
settings.register_profile("thorough", deadline=None, max_examples=20_000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_report_header(config):
    return [f"adamopt {adamopt.__version__} from {Path(adamopt.__file__).parent}",
            f"numpy {np.__version__}"]


def pytest_sessionstart(session):
    # CI sets this to make sure the tests exercise the installed package, not
    # the source tree (whose compiled module may be stale or missing).
    if os.environ.get("ADAMOPT_TEST_INSTALLED"):
        source = Path(__file__).resolve().parent.parent / "src" / "adamopt"
        where = Path(adamopt.__file__).resolve().parent
        if where == source:
            raise RuntimeError(f"tests imported adamopt from the source tree {where}, "
                               "not from the installed package")
