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
    # The package is installed editable (compiled in place) or as a wheel;
    # either way the tests must run against compiled modules built from the
    # sources beside them, never a stale build.  CI sets ADAMOPT_TEST_INSTALLED
    # to make this a hard check.
    if not os.environ.get("ADAMOPT_TEST_INSTALLED"):
        return
    package = Path(adamopt.__file__).resolve().parent
    source = Path(__file__).resolve().parent.parent / "adamopt"
    if package != source:
        return  # a wheel install: built from these sources by pip
    sources = [f for pattern in ("*.pyx", "*.pxi", "*.pxd", "*.h")
               for f in source.glob(pattern)]
    newest = max(f.stat().st_mtime for f in sources)
    compiled = [*source.glob("*.so"), *source.glob("*.pyd")]
    if not compiled:
        raise RuntimeError(f"no compiled modules in {source}")
    stale = [str(c) for c in compiled if c.stat().st_mtime < newest]
    if stale:
        raise RuntimeError(f"compiled modules older than their sources: {stale}; "
                           "rebuild with 'pip install -e .'")
