"""Type stub of the compiled module adamopt._kernels."""

from collections.abc import Callable, Sequence
from typing import NoReturn

import numpy as np
import numpy.typing as npt

GRAD_LIMIT_FLOAT32: float
GRAD_LIMIT_FLOAT64: float
MAX_STEPS: int
ADAMAX_RATIO: float

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
def _raise_step_cap(owner: str, t: int) -> NoReturn: ...
def _stream_probe(x: _Array, g: _Array, m: _Array, v: _Array) -> None: ...
def _projected_norm(x: _Array, m: _Array, scale: float, lower: _Array, upper: _Array,
                   inf_norm: bool, above: float = ...) -> float: ...
def _gradient_above(m: _Array, limit: float, inf_norm: bool) -> bool | None: ...
def _diff_norm(a: _Array, b: _Array) -> float: ...
def _dot(a: _Array, b: _Array) -> float: ...

#: The kernel id of each algorithm, by name.
KERNELS: dict[str, int]

class Core:
    """The compiled core; the hooks below are what it calls on its subclass."""

    _t: int
    _lr: float
    _eps: float
    _weight_decay: float
    _beta1: float
    _beta2: float
    _momentum: float
    _dampening: float
    _alpha: float
    _lr_decay: float
    _momentum_decay: float
    _lr_fn: Callable[[int], float] | None
    _schedule: Callable[[int], float] | None
    _weight_decay_fn: Callable[[int], float] | None
    _hyper_fns: dict[str, Callable[[int], float]] | None
    _maximize: bool
    _check_finite: bool
    _nesterov: bool
    _decoupled_weight_decay: bool
    _decay_by_schedule: bool
    # Prodigy and D-Adaptation (_loops_dadapt.pxi): their options, their guard's premise
    _d0: float
    _d_coef: float
    _growth_rate: float
    _beta3: float
    _use_bias_correction: bool
    _safeguard_warmup: bool
    _decouple: bool
    _v_bound: float
    _z_bound: float
    # the overflow guard's premise (see _guard in _loops.pxi)
    _beyond: bool
    _step_limit: float
    _x_bound: float
    _s_bound: float
    _r_bound: float
    _s_limit: float
    @property
    def _x(self) -> _Array: ...
    @property
    def _state(self) -> tuple[_Array | None, ...]: ...
    @property
    def _kernel(self) -> int: ...
    @property
    def _squares(self) -> bool: ...
    @property
    def _amsgrad(self) -> bool: ...
    @property
    def _centered(self) -> bool: ...
    @property
    def params(self) -> _Array: ...
    def _bind(
        self,
        kernel: str,
        squares: bool,
        params: _Array,
        state: Sequence[_Array | None],
        amsgrad: bool = ...,
        centered: bool = ...,
    ) -> None: ...
    def _share_state(self, state: Sequence[_Array | None]) -> None: ...
    def _grad_limit(self) -> float: ...
    def _get_scalar(self, index: int) -> float: ...
    def _set_scalar(self, index: int, value: float) -> None: ...
    def step(self, grad: npt.ArrayLike) -> _Array: ...
    # -- the post-pass stages (_post.pxi)
    _post_c: float
    def _post(
        self,
        lower: object = ...,
        upper: object = ...,
        before: _Array | None = ...,
        average: _Array | None = ...,
        out: _Array | None = ...,
        c: float = ...,
    ) -> None: ...
    _post_out: _Array | None
    def _post_swap(self) -> None: ...
    # -- hooks the compiled step calls (implemented by adamopt._optimizers._Optimizer)
    def _slow_grad(self, grad: object) -> _Array: ...
    def _schedule_value(self, name: str, function: Callable[[int], float], t: int) -> float: ...
    def _raise_bad_grad(self, grad: _Array, index: int) -> NoReturn: ...
    def _raise_bad_scalars(self, name: str, value: float, t: int) -> NoReturn: ...
    def _raise_params_changed(self) -> NoReturn: ...

class _Segments:
    """The arrays one optimizer steps together (``_segments.pxi``)."""

    members: list
    views: list
    names: list
    groups: list
    kinds: list
    keys: list
    nested: bool
    clip_sets: list
    params: object

    def __init__(self, owner: Core, members: list, views: list, names: list, groups: list,
                 kinds: list, keys: list, nested: bool, clip_sets: list,
                 params: object) -> None: ...
    def step(self, grads: object) -> object: ...
