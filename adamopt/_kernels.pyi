"""Type stub of the compiled module adamopt._kernels."""

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

GRAD_LIMIT_FLOAT32: float
GRAD_LIMIT_FLOAT64: float

_Array = npt.NDArray[np.floating]

def available_kernels() -> list[str]: ...
def _cpu_supports(name: str) -> bool: ...
def _use_kernel(name: str) -> str | None: ...
def _kernel_name() -> str: ...
def _default_num_threads() -> int: ...
def _set_num_threads(n: int) -> int: ...
def _get_num_threads() -> int: ...
def _set_thread_min_size(size64: int, size32: int, chunk_min: int) -> tuple[int, int, int]: ...
def _pool_stats() -> tuple[int, int, int]: ...
def _thread_min_sizes() -> tuple[int, int]: ...
def _stream_probe(x: _Array, g: _Array, m: _Array, v: _Array) -> None: ...

ALGORITHMS: dict[str, int]

class _Core:
    _t: int
    _lr: float
    _eps: float
    _weight_decay: float
    _lr_fn: Callable[[int], float] | None
    _schedule: Callable[[int], float] | None
    _weight_decay_fn: Callable[[int], float] | None
    _maximize: bool
    _check_finite: bool
    @property
    def _x(self) -> _Array: ...
    @property
    def params(self) -> _Array: ...

class FamilyCore(_Core):
    _momentum: float
    _dampening: float
    _alpha: float
    _lr_decay: float
    _beta1: float
    _beta2: float
    _momentum_decay: float
    _mu_product: float
    _nesterov: bool
    _decoupled_weight_decay: bool
    @property
    def _a(self) -> _Array: ...
    @property
    def _b(self) -> _Array | None: ...
    @property
    def _c(self) -> _Array | None: ...
    @property
    def _algo(self) -> int: ...
    @property
    def _centered(self) -> bool: ...
    def _bind(
        self,
        algo: int,
        params: _Array,
        a: _Array,
        b: _Array | None,
        c: _Array | None,
        centered: bool = ...,
    ) -> None: ...
    def _grad_limit(self) -> float: ...
    def step(self, grad: npt.ArrayLike) -> _Array: ...

class AdamCore(_Core):
    _m: _Array
    _v: _Array
    _vmax: _Array | None
    _beta1: float
    _beta2: float
    _decay_by_schedule: bool
    @property
    def _decoupled(self) -> bool: ...
    @property
    def _amsgrad(self) -> bool: ...
    def _grad_limit(self) -> float: ...
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
