r"""PyTorch's ``betas=(beta1, beta2)``: one argument for the two decay rates.

``betas`` is a second spelling, not a hyperparameter of its own: every class
and SciPy method whose algorithm has both ``beta1`` and ``beta2`` (the
declarations of ``adamopt._registry``, and SWATS) also takes ``betas``, and
turns it into ``beta1``/``beta2`` before anything else is checked, here and
nowhere else.  The state dicts, checkpoints and reprs keep ``beta1`` and
``beta2``.  Giving both spellings is refused (even with equal values), as a
call that sets the same thing twice is ambiguous.

`accepting` gives a constructor the keyword (``adamopt._derive`` applies it
to every derived class, `adamopt.SWATS` to its own), `split` is what it and
the SciPy methods' option parsing (``_Optimizer._run_options``) call, and
`Pair` is the attribute ``opt.betas``.
"""

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import _validation as check

#: The keyword, and the hyperparameters it sets, in order.
NAME = "betas"
PAIR = ("beta1", "beta2")

#: Its numpydoc entry (the classes' Parameters, the methods' Options, show_options).
DOC = r"""The pair ``(beta1, beta2)`` in one argument, as PyTorch spells it
(``betas=(0.9, 0.999)``): the same as passing ``beta1`` and ``beta2``; give
one form or the other, not both."""
TYPE = "(float, float)"

#: ``rule(name) -> check(value, label, owner)``: the check of a hyperparameter.
Rules = Callable[[str], Callable[[Any, str, str], Any]]


def applies(names) -> bool:
    """Whether hyperparameters ``names`` include both of `PAIR`."""
    return set(PAIR) <= set(names)


def pair(value, owner, rule: Rules):
    """``(beta1, beta2)`` from a ``betas`` value, each checked by its own
    rule (the errors name ``betas[0]`` and ``betas[1]``)."""
    rule_text = "a pair (beta1, beta2) of real numbers, such as (0.9, 0.999)"
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise check._fail(ValueError, NAME, owner, rule_text, value)
        items = list(value)
    elif isinstance(value, (tuple, list)):
        items = list(value)
    else:
        raise check._fail(TypeError, NAME, owner, rule_text, value)
    if len(items) != 2:
        raise check._fail(ValueError, NAME, owner, rule_text, value)
    return tuple(rule(name)(item, f"{NAME}[{i}]", owner)
                 for i, (name, item) in enumerate(zip(PAIR, items, strict=True)))


def split(given: Mapping, owner: str, rule: Rules) -> dict:
    """``given`` (keyword arguments or options) with ``betas`` replaced by
    ``beta1`` and ``beta2``; ``betas=None`` is the same as leaving it out.
    `ValueError` when ``beta1`` or ``beta2`` is given too."""
    out = dict(given)
    value = out.pop(NAME, None)
    if value is None:
        return out
    both = [name for name in PAIR if name in out]
    if both:
        also = " and ".join(f"{name}={out[name]!r}" for name in both)
        raise ValueError(
            f"The {NAME!r} and {' and '.join(map(repr, both))} parameters of {owner} are "
            f"two spellings of the same setting: give betas=(beta1, beta2) or "
            f"beta1/beta2, not both. Got {NAME}={check.show(value)} and {also}."
        )
    out.update(zip(PAIR, pair(value, owner, rule), strict=True))
    return out


def accepting(init):
    """``init`` (a constructor with keyword-only ``beta1`` and ``beta2``)
    that also takes ``betas``; its signature shows it after ``beta2``."""
    signature = inspect.signature(init)
    parameters = []
    for p in signature.parameters.values():
        parameters.append(p)
        if p.name == PAIR[1]:
            parameters.append(inspect.Parameter(NAME, inspect.Parameter.KEYWORD_ONLY,
                                                default=None))

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if NAME in kwargs:
            kwargs = split(kwargs, type(self).__name__, type(self)._rule)
        init(self, *args, **kwargs)

    __init__.__signature__ = signature.replace(parameters=parameters)
    return __init__


class Pair:
    """The attribute ``opt.betas``: ``(beta1, beta2)``; setting it checks
    both values before it changes either."""

    __doc__ = "``(beta1, beta2)``, PyTorch's spelling of the two decay rates."

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return tuple(getattr(obj, name) for name in PAIR)

    def __set__(self, obj, value):
        values = pair(value, type(obj).__name__, type(obj)._rule)
        for name, item in zip(PAIR, values, strict=True):
            setattr(obj, name, item)
