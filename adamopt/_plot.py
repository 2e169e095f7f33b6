"""`plot_history`: convergence curves of one or several runs (matplotlib, imported lazily)."""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import _validation as check

_OWNER = "plot_history"

_LABELS = {"nit": "iteration", "time": "time [s]", "fun": "objective",
           "fun_smoothed": "objective (running average)", "grad_norm": "gradient 2-norm",
           "step_norm": "step 2-norm"}


def _history(result, i):
    """The history mapping of ``result`` (a result with ``history`` or a mapping of columns)."""
    history = result
    if isinstance(result, Mapping) and "x" in result:     # an OptimizeResult
        history = result.get("history")
        if history is None:
            raise ValueError(
                f"The 'results' parameter of {_OWNER} must hold results recorded with the "
                f"'history' option (options={{'history': True}}). Got a result without a "
                f"history at position {i} instead.")
    if not isinstance(history, Mapping) or "nit" not in history:
        raise check._fail(TypeError, "results", _OWNER,
                          "a result with a history, a mapping of columns such as "
                          "res.history, or a list or dict of them", result)
    return history


def _runs(results, labels):
    """[(label, history)] from the forms `plot_history` accepts."""
    if isinstance(results, Mapping) and "x" not in results and "nit" not in results:
        items = list(results.items())
    elif isinstance(results, Mapping):
        items = [(None, results)]
    elif isinstance(results, Sequence) and not isinstance(results, (str, bytes)):
        items = [(None, r) for r in results]
    else:
        raise check._fail(TypeError, "results", _OWNER,
                          "a result with a history, a mapping of columns such as "
                          "res.history, or a list or dict of them", results)
    if not items:
        raise check._fail(ValueError, "results", _OWNER, "non-empty", results)
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(items):
            raise ValueError(f"The 'labels' parameter of {_OWNER} must have one label per "
                             f"run ({len(items)}). Got {len(labels)} instead.")
    if labels is None and all(label is None for label, _ in items):
        methods = [_method(result) for _, result in items]
        if len(items) == 1:
            labels = methods
        elif None in methods or len(set(methods)) < len(methods):
            labels = [f"{method or 'run'} {i}" for i, method in enumerate(methods)]
        else:
            labels = methods
    return [(label if labels is None else labels[i], _history(result, i))
            for i, (label, result) in enumerate(items)]


def _method(result):
    """The method name a result's state records, or None."""
    state = result.get("state") if isinstance(result, Mapping) else None
    return state.get("method") if isinstance(state, Mapping) else None


def _axes(ax, count):
    if ax is None:
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError("plot_history needs matplotlib: pip install matplotlib "
                              "(or pass the axes to draw on)") from exc
        _, axes = plt.subplots(1, count, figsize=(4.5 * count, 3.5), squeeze=False,
                               layout="constrained")
        return list(axes[0])
    axes = list(np.ravel(ax)) if isinstance(ax, (Sequence, np.ndarray)) else [ax]
    if len(axes) != count:
        raise ValueError(f"The 'ax' parameter of {_OWNER} must be {count} axes, one per "
                         f"key. Got {len(axes)} instead.")
    return axes


def plot_history(results: Any, keys: str | Sequence[str] = ("fun", "grad_norm"), *,
                 x: str = "nit", ax: Any = None, labels: Sequence[str] | None = None,
                 logy: bool = True) -> list:
    """Draw the recorded history of one or several runs on matplotlib axes.

    Parameters
    ----------
    results : OptimizeResult, mapping, or a list or dict of them
        Results of `adamopt.adam` / `adamopt.adamw` run with the ``history``
        option, their ``history`` mappings, or any mapping of equal-length
        columns with a ``"nit"`` column (for example a curve recorded by a
        callback of another method).  A dict ``{label: result}`` labels each
        run; a list labels them by method and position.
    keys : str or sequence of str, default: ("fun", "grad_norm")
        The columns to draw, one axes each: ``"fun"`` (drawn faint, with its
        running average ``"fun_smoothed"`` on top in the same colour when the
        run has it), ``"fun_smoothed"``, ``"grad_norm"``, ``"step_norm"`` or
        any other column of the histories.  A run without a column is skipped
        on that axes.
    x : str, default: "nit"
        The column on the horizontal axis: ``"nit"``, ``"time"`` or another
        column every run has (such as epochs you add).
    ax : matplotlib Axes or sequence of Axes, optional
        Where to draw, one per key.  Without it a new figure is made
        (`matplotlib.pyplot.subplots`).
    labels : sequence of str, optional
        Legend labels, one per run (overrides the dict keys).
    logy : bool, default: True
        Logarithmic vertical axes (a column with values <= 0 is drawn on a
        linear axis).

    Returns
    -------
    list of matplotlib.axes.Axes
        The axes drawn on, one per key.

    Raises
    ------
    ImportError
        Without ``ax`` when matplotlib is not installed (it is imported only here).
    TypeError, ValueError
        For results without a history, an unknown ``x`` or ``keys``, or
        ``labels``/``ax`` of the wrong length.

    See Also
    --------
    adamopt.adam : the ``history`` option records the columns.

    Notes
    -----
    The objective of a stochastic run is measured on each iteration's
    minibatch, so ``fun`` is noisy; its running average (an exponential moving
    average with the run's ``smoothing`` factor, bias-corrected as Adam's
    moments are [1]_) shows the trend.

    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic
       Optimization", ICLR 2015, arXiv:1412.6980 (bias correction, Section 3).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import minimize
    >>> import adamopt
    >>> res = minimize(lambda x: (x @ x, 2 * x), np.ones(3), jac=True,
    ...                method=adamopt.adam, options={"lr": 0.1, "history": 10})
    >>> axes = adamopt.plot_history(res)            # doctest: +SKIP
    >>> axes[0].figure.savefig("convergence.png")   # doctest: +SKIP
    """
    if isinstance(keys, str):
        keys = (keys,)
    keys = list(keys)
    if not keys or not all(isinstance(k, str) for k in keys):
        raise check._fail(TypeError, "keys", _OWNER, "a column name or a non-empty "
                          "sequence of them", keys)
    if not isinstance(x, str):
        raise check._fail(TypeError, "x", _OWNER, "a column name such as 'nit' or 'time'", x)
    logy = check.boolean(logy, "logy", _OWNER)
    runs = _runs(results, labels)
    for _, history in runs:
        if x not in history:
            raise ValueError(f"The 'x' parameter of {_OWNER} must be a column of every "
                             f"run ({', '.join(history)}). Got {x!r} instead.")
    for key in keys:
        if not any(key in history for _, history in runs):
            raise check._fail(ValueError, "keys", _OWNER, "columns of the histories "
                              f"({', '.join(runs[0][1])})", key)
    axes = _axes(ax, len(keys))
    for key, axis in zip(keys, axes, strict=True):
        positive = True
        for i, (label, history) in enumerate(runs):
            if key not in history:
                continue
            colour = f"C{i}"
            xs = np.asarray(history[x], dtype=float)
            ys = np.asarray(history[key], dtype=float)
            smooth = key == "fun" and "fun_smoothed" in history
            axis.plot(xs, ys, color=colour, alpha=0.3 if smooth else 1.0, linewidth=1.0,
                      label=None if smooth else label)
            if smooth:
                axis.plot(xs, np.asarray(history["fun_smoothed"], dtype=float),
                          color=colour, linewidth=1.5, label=label)
            positive = positive and bool(np.all(ys[np.isfinite(ys)] > 0))
        if logy and positive:
            axis.set_yscale("log")
        axis.set_xlabel(_LABELS.get(x, x))
        axis.set_ylabel(_LABELS.get(key, key))
        if any(label is not None for label, _ in runs):
            axis.legend()
    return axes
