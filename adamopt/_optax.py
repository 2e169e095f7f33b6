"""optax's counterparts of the registry's algorithms: one table, for the benchmark and the tests.

`OPTAX` maps an algorithm's name (its declaration in ``adamopt._algorithms``)
to an `Optax` entry: the ``optax`` function of the same algorithm, our
option names in its spelling, the arguments that select our convention, and
whether the arithmetic is the same as ours (``exact``: then the parity tests
compare trajectories; otherwise optax's variant differs in a convention that
the entry's ``note`` names, and only the benchmark times it).  optax and JAX
are imported only by `jax_setup` and `transformation`, never at the import of
adamopt.

Conventions compared (optax 0.2.8, ``optax/_src/alias.py`` and
``transform.py``):

* Adam: ``scale_by_adam`` adds ``eps`` outside the root of the bias-corrected
  ``v``, as Kingma & Ba's Algorithm 1 and we do.
* AdamW: optax subtracts ``lr_t * weight_decay * x`` with the Adam update,
  our default ``decay_scaling="lr"`` (PyTorch multiplies ``x`` by
  ``1 - lr_t * weight_decay`` first: the same up to rounding).
* SGD: optax's ``trace`` starts the momentum buffer at ``g`` and its
  Nesterov step is ``g + momentum * buffer``, as ``torch.optim.SGD`` with
  ``dampening=0``.
* RMSprop: ``eps_in_sqrt=False`` puts ``eps`` outside the root, as we and
  PyTorch do; ``alpha`` is optax's ``decay``.
* Adagrad, Adamax, NAdam, RAdam: the same algorithms with other
  conventions (see each ``note``).
"""

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _registry


@dataclass(frozen=True)
class Optax:
    """optax's counterpart of one algorithm: ``optax.<name>(lr, **kwargs)``.

    ``rename`` maps our option names to optax's arguments; ``fixed`` holds
    optax arguments that select our convention; ``none_when_zero`` the
    options that optax spells ``None`` when off (``momentum``).  Our other
    options have no optax counterpart: they must keep their default.
    ``exact``: optax computes the same arithmetic (up to rounding).
    """

    name: str
    rename: Mapping[str, str] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)
    none_when_zero: tuple = ()
    exact: bool = True
    note: str = ""

    def kwargs(self, algorithm, options=None):
        """optax's keyword arguments for ``algorithm`` (a declaration) with our
        ``options`` (non-default ones; ``lr`` excluded); `ValueError` for an
        option optax has no counterpart of."""
        declared = {h.name: h.default for h in algorithm.hyperparameters}
        values = {**declared, **(options or {})}
        values.pop("lr", None)
        out = {}
        for ours, value in values.items():
            if ours in self.rename:
                if ours in self.none_when_zero and value == 0:
                    value = None
                out[self.rename[ours]] = value
            elif ours not in declared or value != declared[ours]:
                raise ValueError(f"optax.{self.name} has no counterpart of the "
                                 f"{ours!r} option of {algorithm.name} (got {value!r}).")
        out.update(self.fixed)
        return out


_BETAS = {"beta1": "b1", "beta2": "b2", "eps": "eps"}

#: The algorithms optax has, by our name.
OPTAX = {
    "adam": Optax("adam", _BETAS),
    "adamw": Optax("adamw", {**_BETAS, "weight_decay": "weight_decay"}),
    "sgd": Optax("sgd", {"momentum": "momentum", "nesterov": "nesterov"},
                 none_when_zero=("momentum",)),
    "rmsprop": Optax("rmsprop", {"alpha": "decay", "eps": "eps", "momentum": "momentum",
                                 "centered": "centered"},
                     fixed={"eps_in_sqrt": False}, none_when_zero=("momentum",)),
    "adagrad": Optax("adagrad", {"initial_accumulator_value": "initial_accumulator_value",
                                 "eps": "eps"}, exact=False,
                     note="eps inside the root (ours and PyTorch's: outside)"),
    "adamax": Optax("adamax", _BETAS, exact=False,
                    note="max(beta2 u, |g|) + eps (ours and PyTorch's: max(beta2 u, |g| + eps))"),
    "nadam": Optax("nadam", _BETAS, exact=False,
                   note="Dozat's constant momentum (ours and PyTorch's: the "
                        "momentum_decay schedule)"),
    "radam": Optax("radam", _BETAS, exact=False,
                   note="eps added to the bias-corrected root, the switch at rho_t >= 5 "
                        "(ours and PyTorch's: to the raw root, rho_t > 5)"),
}


def jax_setup():
    """Import JAX for the benchmark and the tests: float64 enabled
    (``jax_enable_x64``; float32 arrays stay float32) and, when JAX was not
    imported yet, XLA's CPU backend on one thread (as the PyTorch peers);
    return the ``jax`` module (ImportError without it)."""
    if "jax" not in sys.modules:
        flags = os.environ.get("XLA_FLAGS", "")
        if "intra_op_parallelism_threads" not in flags:
            os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1").strip()
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def transformation(name, lr, options=None):
    """optax's ``GradientTransformation`` of our algorithm ``name`` with
    learning rate ``lr`` and our (non-default) ``options``."""
    jax_setup()
    import optax

    entry = OPTAX[name]
    return getattr(optax, entry.name)(lr, **entry.kwargs(_registry.get(name), options))
