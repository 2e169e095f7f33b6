"""What the run driver (`adamopt._minimize`) uses of an optimizer: the protocol
`Driven`, and nothing else.

The driver is generic: it imports no algorithm and reads no optimizer
private.  An optimizer class (`adamopt._optimizers._Optimizer` implements it
for every algorithm) gives the driver its hyperparameters, checks them,
tells which options are fixed at construction, refuses settings that a step
would refuse before the objective is called, and hands over the smoothed
gradient that the ``gtol`` test measures; its objects are stepped and saved.
"""

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np


class Driven(Protocol):
    """An optimizer the SciPy methods can drive (class and instance side)."""

    #: The parameters, updated in place by `step`.
    params: np.ndarray

    def __init__(self, params: np.ndarray, **hyperparameters: Any) -> None: ...

    @property
    def t(self) -> int:
        """Steps taken so far."""

    def step(self, grad: Any) -> Any:
        """One update with the gradient at the current parameters; refuses a
        non-finite one with `adamopt._validation.GradientValueError`."""

    def state_dict(self) -> dict[str, Any]:
        """The state, hyperparameters included (plain values and arrays)."""

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state (checked whole before anything changes)."""

    @classmethod
    def _run_defaults(cls) -> dict[str, Any]:
        """The hyperparameters a run may set, with their defaults."""

    @classmethod
    def _run_options(cls, options: dict[str, Any], owner: str) -> dict[str, Any]:
        """The options in the constructor's own names (``betas`` split)."""

    @classmethod
    def _run_check(cls, name: str, value: Any, owner: str) -> Any:
        """Check one hyperparameter given to the run ``owner``; return it."""

    @classmethod
    def _run_group_keys(cls) -> tuple[str, ...] | None:
        """The hyperparameters a group of the ``groups`` option may set, or
        None when the class takes no parameter groups."""

    @classmethod
    def _run_fixed(cls) -> tuple[str, ...]:
        """The options fixed at construction (a saved state must agree)."""

    @classmethod
    def _run_check_settings(cls, hyperparameters: Mapping[str, Any], dtype: np.dtype,
                            t: int) -> None:
        """Raise what step ``t`` would raise for these numeric hyperparameters
        in ``dtype`` (an ``eps`` that vanishes, an ``lr`` that overflows)."""

    def _run_smoothed_gradient(self, grad: Any) -> tuple[Any, float, bool]:
        """``(vector, scale, owned)``: ``scale * vector`` is the smoothed
        gradient the ``gtol`` test measures, ``owned`` whether ``vector`` is
        the optimizer's own (checked) state rather than ``grad``."""

    def _run_gradient(self, grad: Any) -> tuple[Any, float, bool]:
        """The same for the ``gtol`` test of a deterministic run: the gradient
        at the current iterate (with a coupled weight decay added)."""
