"""Smoke test of an installed adamopt (an sdist or wheel install, run from
outside the source tree): it imports the compiled package, runs one
`scipy.optimize.minimize` with ``method=adamopt.adam`` and checks that
``python -m adamopt --version`` prints the package's version.

Used by .ci/run (the sdist installed in a fresh virtualenv) and by
cibuildwheel's test-command (pyproject.toml).  Exits non-zero on failure.
"""

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

import adamopt
from adamopt import _kernels

here = Path(__file__).resolve().parents[1]
location = Path(adamopt.__file__).resolve().parent
assert location != here / "adamopt", f"imported the source tree {location}, not an install"
assert importlib.metadata.version("adamopt") == adamopt.__version__

result = minimize(lambda x: float(((x - 1.0) ** 2).sum()), np.zeros(3),
                  jac=lambda x: 2.0 * (x - 1.0), method=adamopt.adam,
                  options={"lr": 0.1, "maxiter": 2000, "gtol": 1e-8})
assert result.success, result
assert np.abs(result.x - 1.0).max() < 1e-6, result.x

version = subprocess.run([sys.executable, "-m", "adamopt", "--version"], check=True,
                         capture_output=True, text=True).stdout.strip()
assert version == f"adamopt {adamopt.__version__}", version

print(f"smoke test passed: adamopt {adamopt.__version__} from {location}, "
      f"kernel {_kernels._kernel_name()}, minimize: {result.nit} iterations, "
      f"x = {result.x}")
