"""Watching a run of the SciPy methods: the iteration table (``disp``), the
progress bar (``progress``) and the recorded history (``history``).

The method's loop calls `Monitor.update` once per iteration, and only when one
of these options is on (otherwise there is no monitor and the loop pays one
``is None`` test).  `update` keeps a running average of the objective and a
reference to the latest values; norms are computed, rows recorded or printed
and the bar redrawn only at *events*, iterations chosen in advance, so a
recorded or printed row costs two vector norms and an ordinary iteration a
few arithmetic operations.

Interrupt safety, as in the loop: every piece of state that changes per
iteration is one tuple replaced whole, and a row enters the history by one
``list.append`` (thinning replaces the list whole), so a `KeyboardInterrupt`
anywhere leaves rows that each describe a completed iteration ``<= nit``.
"""

import math
import numbers
import sys
import time

import numpy as np

from . import _validation as check
from ._kernels import _diff_norm
from ._mapping import ReadOnlyMapping

#: The options of this module, with their defaults (merged into the methods' run options).
DEFAULTS = {"history": False, "disp_every": None, "progress": False}

#: The history keeps at most this many rows: when full, every other row is
#: dropped and the recording interval doubles.
HISTORY_ROWS = 10_000

#: The columns of a history, in order.
COLUMNS = ("nit", "fun", "fun_smoothed", "grad_norm", "step_norm", "time", "stationarity")

_HEADER = (f"{'nit':>8s} {'fun':>12s} {'smoothed':>12s} {'|grad|':>10s} "
           f"{'|step|':>10s} {'time/s':>8s} {'T':>8s}")


def check_option(name, value, owner):
    """Check one of `DEFAULTS`'s options; return the value the run uses
    (``history``: the recording interval, 0 for none)."""
    if name == "progress":
        return check.boolean(value, name, owner)
    if name == "history":
        if value is None or isinstance(value, (bool, np.bool_)):
            return 1 if value else 0
        rule = "True, False or an integer >= 1 (record every k-th iteration)"
    else:   # disp_every
        return None if value is None else check.integer(value, name, owner, 1)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise check._fail(TypeError, name, owner, rule, value)
    if value < 1:
        raise check._fail(ValueError, name, owner, rule, value)
    return int(value)


def monitor(owner, run, smoothing, warn):
    """A `Monitor` for the run options ``run``, or None when nothing is watched."""
    if not (run["history"] or run["disp"] or run["progress"]):
        return None
    return Monitor(owner, run["history"], run["disp"], run["disp_every"], run["progress"],
                   run["maxiter"], smoothing, warn)


def _tqdm():
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def _next_125(nit):
    """The next number after ``nit`` on the 1, 2, 5, 10, 20, 50, ... scale."""
    scale = 1
    while True:
        for k in (1, 2, 5):
            if k * scale > nit:
                return k * scale
        scale *= 10


def _norm(a):
    """The 2-norm, as `numpy.linalg.norm` computes it, without its overhead."""
    a = np.asarray(a).ravel()
    return math.sqrt(float(a.dot(a)))


def _step_norm_of(x, previous):
    """The row's step norm: NaN without a ``previous`` iterate, the norm the
    step's pass took (``previous`` a float, or a callable returning it), or
    the norm of ``x - previous``."""
    if previous is None:
        return math.nan
    if isinstance(previous, float):
        return previous
    if callable(previous):
        return previous()
    return _step_norm(x, previous)


def _step_norm(x, previous):
    """The 2-norm of ``x - previous``: one compiled pass when both are
    contiguous arrays of one dtype (the run's), else NumPy's."""
    if (type(x) is np.ndarray and type(previous) is np.ndarray and x.dtype == previous.dtype
            and x.size == previous.size and x.flags.c_contiguous
            and previous.flags.c_contiguous and x.dtype in (np.float32, np.float64)):
        return _diff_norm(x, previous)
    return _norm(x - previous)


class History(ReadOnlyMapping):
    """The ``history`` of a result: a read-only mapping of equal-length NumPy
    arrays, one per column of `COLUMNS` (also readable as attributes:
    ``res.history.fun``), with a short repr (so that printing a result does
    not print the arrays).  ``dict(res.history)`` is a plain dict of the
    arrays and ``pandas.DataFrame(dict(res.history))`` a table.

    Columns: ``nit`` (the iteration), ``fun`` (the objective at that iterate,
    on its minibatch), ``fun_smoothed`` (the running average of ``fun``),
    ``grad_norm`` (the 2-norm of the gradient ``fun`` returned there),
    ``step_norm`` (the 2-norm of the step that reached the iterate, after
    projection onto the bounds; NaN at iteration 0), ``time`` (seconds
    since the run started) and ``stationarity`` (the statistic T of the
    stationarity test at its last check, see `adamopt._stationarity`; NaN
    before the first check and in a deterministic run).  The attribute
    ``every`` is the interval between recorded iterations at the end of the
    run.
    """

    def __init__(self, rows, every):
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(COLUMNS)
        super().__init__({
            name: np.array(column, dtype=np.int64 if name == "nit" else np.float64)
            for name, column in zip(COLUMNS, columns, strict=True)})
        self.every = every

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self):
        nit = self["nit"]
        span = f", iterations {nit[0]} to {nit[-1]}" if nit.size else ""
        return (f"<history: {nit.size} rows (every {self.every} iteration"
                f"{'s' if self.every > 1 else ''}{span}) of {', '.join(COLUMNS)}>")


class Monitor:
    """The ``disp`` table, ``progress`` bar and ``history`` of one run."""

    def __init__(self, owner, every, disp, disp_every, progress, maxiter, smoothing, warn):
        self.owner, self.every, self.rho = owner, every, smoothing
        self.maxiter = maxiter
        self.start_time = time.perf_counter()
        self.rows = [] if every else None
        self.bar = None
        if progress:
            tqdm = _tqdm()
            if tqdm is None:
                warn("The 'progress' option needs tqdm, which is not installed (pip install "
                     "tqdm); showing the iteration table (disp) instead.", UserWarning)
                disp = True
            else:
                self.bar = tqdm(total=maxiter if math.isfinite(maxiter) else None,
                                desc=owner, unit="it", dynamic_ncols=True)
        self.disp, self.disp_every = disp, disp_every
        # (iteration to record next, to print next, to redraw the bar next)
        self.due = (0, 0 if disp else math.inf, 0 if self.bar is not None else math.inf)
        self.next = 0
        self.bar_every, self.bar_time = 1, self.start_time
        # (nit, f, g, average, count) of the latest iteration; count 0: none yet
        self.last = (-1, math.nan, None, 0.0, 0)
        self.shown = -1     # the last iteration printed
        self.stationarity = None    # the run's stationarity test (set by the run)
        if disp:
            self._write(f"{owner}: fun is on the iteration's minibatch, smoothed is its "
                        f"running average\n{_HEADER}")

    # -- per iteration ---------------------------------------------------------------
    def update(self, nit, f, g, x, previous):
        """Feed iteration ``nit``: objective ``f`` and gradient ``g`` at ``x``,
        reached from ``previous`` (None at iteration 0), or by a step whose
        norm ``previous()`` returns (the step's pass took it)."""
        _, _, _, average, count = self.last
        rho = self.rho
        self.last = (nit, f, g, rho * average + (1.0 - rho) * f, count + 1)
        if nit >= self.next:
            self._event(nit, x, previous)

    def smoothed(self):
        _, _, _, average, count = self.last
        if count == 0:
            return math.nan
        rho = self.rho
        return average / (1.0 - rho ** count) if rho else average

    def _row(self, x, previous):
        nit, f, g, _, _ = self.last
        test = self.stationarity
        return (nit, float(f), self.smoothed(), _norm(g),
                _step_norm_of(x, previous),
                time.perf_counter() - self.start_time,
                math.nan if test is None else test.value)

    def _event(self, nit, x, previous):
        record, show, redraw = self.due
        row = None
        if self.rows is not None and nit >= record:
            row = self._row(x, previous)
            self._record(row)
            record = (nit // self.every + 1) * self.every
        if nit >= show:
            row = row or self._row(x, previous)
            self._print(row)
            show = self._next_print(nit)
        if self.bar is not None and nit >= redraw:
            redraw = nit + self._redraw(nit)
        self.due = (record if self.rows is not None else math.inf, show, redraw)
        self.next = min(self.due)

    def _record(self, row):
        rows = self.rows
        if len(rows) >= HISTORY_ROWS:
            # Thin: keep the rows at multiples of twice the interval.  An
            # interrupt between the two stores leaves more rows, all valid.
            self.every *= 2
            rows = [r for r in rows if r[0] % self.every == 0]
            self.rows = rows
        if row[0] % self.every == 0:
            rows.append(row)

    def _print(self, row):
        nit, f, smoothed, gnorm, snorm, elapsed, stat = row
        step = "-" if math.isnan(snorm) else f"{snorm:.3e}"
        stat = "-" if math.isnan(stat) else f"{stat:.3g}"
        line = (f"{nit:8d} {f:12.6g} {smoothed:12.6g} {gnorm:10.3e} {step:>10s} "
                f"{elapsed:8.2f} {stat:>8s}")
        self._write(line)
        self.shown = nit

    def _write(self, text):
        """Print to stdout (through the bar when there is one, so it is not torn)."""
        if self.bar is not None:
            self.bar.write(text, file=sys.stdout)
        else:
            print(text, file=sys.stdout, flush=True)

    def _next_print(self, nit):
        if self.disp_every is not None:
            return nit + self.disp_every
        if math.isfinite(self.maxiter) and self.maxiter >= 10:
            tenth = self.maxiter // 10    # the 1, 2, 5 scale up to it, then its multiples
            return (nit // tenth + 1) * tenth if nit >= tenth else min(_next_125(nit), tenth)
        return _next_125(nit)

    def _redraw(self, nit):
        """Redraw the bar; return the iterations until the next redraw (about
        a tenth of a second of them)."""
        now = time.perf_counter()
        elapsed, self.bar_time = now - self.bar_time, now
        every = self.bar_every
        if elapsed < 0.05:
            every *= 2
        elif elapsed > 0.5 and every > 1:
            every //= 2
        self.bar_every = every
        self.bar.set_postfix_str(f"fun={self.smoothed():.4g}", refresh=False)
        self.bar.update(nit - self.bar.n)
        return every

    # -- at the end ------------------------------------------------------------------
    def close(self, nit, current, x, previous):
        """End the run at iteration ``nit``: add the last iterate to the history
        and the table when it is complete (``current``: its evaluation belongs to
        ``x``) and not there yet, and close the bar."""
        last_nit = self.last[0]
        if current and last_nit == nit and self.last[4] > 0:
            row = None
            if self.rows is not None and (not self.rows or self.rows[-1][0] != nit):
                row = self._row(x, previous)
                self.rows.append(row)
            if self.disp and self.shown != nit:
                self._print(row or self._row(x, previous))
        if self.bar is not None:
            self.bar.set_postfix_str(f"fun={self.smoothed():.4g}", refresh=False)
            self.bar.update(max(last_nit, 0) - self.bar.n)
            self.bar.close()

    def abandon(self):
        """Close the bar of a run that an exception ends (no final row)."""
        if self.bar is not None:
            self.bar.close()

    def history(self):
        """The recorded `History` (None when ``history`` is off)."""
        if self.rows is None:
            return None
        return History(self.rows, self.every)
