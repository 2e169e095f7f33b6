"""Type stub of the compiled module adamopt._kernels."""

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

GRAD_LIMIT_FLOAT32: float
GRAD_LIMIT_FLOAT64: float

_Array = npt.NDArray[np.floating]

class AdamCore:
    _x: _Array
    _m: _Array
    _v: _Array
    _vmax: _Array | None
    _t: int
    _lr: float
    _beta1: float
    _beta2: float
    _eps: float
    _weight_decay: float
    _lr_fn: Callable[[int], float] | None
    _schedule: Callable[[int], float] | None
    _maximize: bool
    _check_finite: bool
    _decay_by_schedule: bool
    @property
    def _decoupled(self) -> bool: ...
    @property
    def _amsgrad(self) -> bool: ...
    @property
    def params(self) -> _Array: ...
    def _bind(
        self,
        params: _Array,
        m: _Array,
        v: _Array,
        vmax: _Array | None,
        decoupled: bool,
        amsgrad: bool,
    ) -> None: ...
    def step(self, grad: npt.ArrayLike) -> _Array: ...
