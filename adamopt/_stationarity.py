r"""The stationarity test: the default stopping rule of a stochastic run.

A stochastic optimizer with a constant learning rate goes through two
phases: a *transient* one, where the iterates drift toward the optimum, and a
*stationary* one, where they only fluctuate around it (the noise floor of
that learning rate).  Stopping is worth it only in the second phase, and the
test must not need tuning to the problem's scale, its noise or its
curvature.  The test here compares drift with fluctuation on the iterates
themselves, so it works alike for every algorithm (it uses only ``x``) and
whatever the units of the parameters.

The test (a two-window comparison with batch means)
---------------------------------------------------
The iterates ``x_t`` since the start of the run are recorded (every
iteration; see *Cost* for how many elements).  At a check, the last half of
them is cut into two windows :math:`A` and :math:`B` of equal length, and
each window into :math:`H = 5` consecutive batches whose means are
:math:`a_1, \dots, a_H` and :math:`b_1, \dots, b_H`.  The statistic is

.. math::

    T = \frac{\lVert \bar b - \bar a \rVert^2}{(s_a^2 + s_b^2) / H}, \qquad
    s_a^2 = \frac{1}{H - 1} \sum_i \lVert a_i - \bar a \rVert^2

(and :math:`s_b^2` alike): the squared distance travelled between the two
windows' means over its variance estimated from the batch means (the batch
means method of Law & Carson, 1979, which absorbs the autocorrelation of the
iterates when a batch is longer than it).  In the stationary phase the two
windows are samples of the same distribution, :math:`E[T] \approx 1`.
While the iterates drift at a steady speed the batch means lie on a line
and :math:`T = H^2 = 25`, whatever the speed; a slow drift still buried in
the noise gives values in between.  The test fires when :math:`T <`
`THRESHOLD` (2) at a check; checks come every eighth of the elapsed
iterations (at least `MIN_ITERATIONS` of them), so the windows grow with the
run and eventually exceed any correlation time.

The idea is the one behind the convergence diagnostics of stochastic
approximation (Pflug 1990; Pesme, Dieuleveut & Flammarion 2020, who show that
statistics of single successive gradients are too noisy and test the
growth of a distance over a long window instead; Yaida 2018 and SASA+, Zhang,
Lang, Liu & Xiao 2020, who test a fluctuation-dissipation relation of the
stationary phase with a batch-means confidence interval).  Measured on
logistic regression, a Poisson GLM and a Monte-Carlo variational fit with
Adam (tests/test_stationarity.py and the user guide's *Noisy objectives*
page), it fires once the excess loss is at the learning rate's noise floor,
never during the transient.

Cost
----
With ``n <= SUBSET`` parameters every element is recorded; beyond that a
fixed random subset of `SUBSET` coordinates (the same for every run of that
size) stands for all of them, so an iteration costs a gather of `SUBSET`
elements, nothing in proportion to ``n``: no extra pass over the
parameters.  At most `ROWS` recorded iterates are kept (when full, every
other one is dropped and one row is recorded every twice as many
iterations): two buffers of ``ROWS * min(n, SUBSET)`` values, allocated at
the first iteration (16 MB in float64 at most), so the memory of a run
does not grow with its length.

Interrupt safety, as in the run loop: the state that changes per iteration
is one tuple replaced whole; a row is written before the count that makes it
visible, so a `KeyboardInterrupt` anywhere leaves a consistent test.

References
----------
.. [1] G. C. Pflug, "Non-asymptotic confidence bounds for stochastic
   approximation algorithms with constant step size", Monatshefte für
   Mathematik 110, 1990.
.. [2] S. Pesme, A. Dieuleveut, N. Flammarion, "On convergence-diagnostic
   based step sizes for stochastic gradient descent", ICML 2020.
.. [3] S. Yaida, "Fluctuation-dissipation relations for stochastic gradient
   descent", ICLR 2019 (arXiv:1810.00004).
.. [4] P. Zhang, H. Lang, Q. Liu, L. Xiao, "Statistical adaptive stochastic
   gradient methods", arXiv:2002.10597, 2020.
.. [5] A. M. Law, J. S. Carson, "A sequential procedure for determining the
   length of a steady-state simulation", Operations Research 27, 1979.
"""

import math

import numpy as np

#: The test fires when T falls below this (E[T] ~ 1 when stationary, 25 while drifting).
THRESHOLD = 2.0
#: Batches per window.
BATCHES = 5
#: No check before this many iterations since the start of the run.
MIN_ITERATIONS = 400
#: Parameters beyond this many are represented by a fixed random subset of this size.
SUBSET = 1024
#: Recorded iterates kept at most (then every other one is dropped).
ROWS = 1024
#: With iterate averaging: the most weight the average may keep on the iterates
#: before the stationary window when the test stops the run.
TRANSIENT = 0.05


def statistic(rows):
    """The statistic T of the recorded iterates ``rows`` (one per row, oldest
    first): the two windows are the last half of them (nan when too few)."""
    half = rows[len(rows) // 2:]
    length = len(half) // (2 * BATCHES)
    if length == 0:
        return math.nan
    half = half[len(half) - 2 * BATCHES * length:]
    means = half.reshape(2 * BATCHES, length, -1).mean(axis=1, dtype=np.float64)
    a, b = means[:BATCHES], means[BATCHES:]
    a_bar, b_bar = a.mean(axis=0), b.mean(axis=0)
    spread = (float(((a - a_bar) ** 2).sum()) + float(((b - b_bar) ** 2).sum())) / (BATCHES - 1)
    distance = float(((b_bar - a_bar) ** 2).sum())
    if spread == 0.0:     # the iterates do not move at all: stationary
        return 0.0 if distance == 0.0 else math.inf
    return distance * BATCHES / spread


def transient_weight(average, k, t):
    r"""The weight that the average ``average = (kind, decay, start)`` of the
    iterates (`adamopt._averaging`) puts, after step ``t``, on the iterates
    :math:`x_0, \dots, x_{k-1}` before step ``k``:
    :math:`\beta^{t-k+1} (1 - \beta^{k-1}) / (1 - \beta^t)` for ``"ema"``
    (which gives :math:`x_0` no weight), :math:`(k - s) / (t - s + 1)` for
    ``"polyak"`` from :math:`s < k` (0 from :math:`s \ge k`, and before the
    average starts)."""
    kind, decay, start = average
    if kind == "ema":
        if k <= 1:
            return 0.0
        return decay ** (t - k + 1) * -math.expm1((k - 1) * math.log(decay)) / \
            -math.expm1(t * math.log(decay))
    if t <= start or k <= start:
        return 0.0
    return (k - start) / (t - start + 1)


class Stationarity:
    """The stationarity test of one run (see the module docstring).

    ``update(x)`` records the iterate of a completed iteration and returns
    True when the test fires at it; ``value`` is the statistic at the last
    check (nan before the first).

    With iterate averaging (``average = (kind, decay, start)``, the run's
    options; ``t`` the step count at the start of the run) the run returns
    the average, which still holds the iterates of the drift when the
    iterates turn stationary: the test then fires only once the average puts
    at most `TRANSIENT` of its weight on the iterates before the stationary
    window (the last half of the run at the first check that found it
    stationary; `transient_weight`), checked every iteration.
    """

    def __init__(self, x, saved=None, average=None, t=0):
        n = x.size
        self.index = None if n <= SUBSET else np.sort(
            np.random.default_rng(0).choice(n, SUBSET, replace=False))
        self.width = min(n, SUBSET)
        self.dtype = x.dtype
        self.average = None if average is None or average[0] is None else tuple(average)
        self.first_t = t
        # (rows, rows used, iterations per row, iterations recorded, next check, T,
        # fired, the spare buffer that thinning fills, the step where the
        # stationary window began (None: not stationary at the last check))
        self.state = (None, 0, 1, 0, MIN_ITERATIONS, math.nan, False, None, None)
        if saved is not None:     # the verdict of a resumed run (its window restarts)
            value, fired = saved
            self.state = (*self.state[:5], math.nan if value is None else float(value),
                          bool(fired), None, None)

    @property
    def verdict(self):
        """``(T, fired)`` at the last check, as a run state saves it (T None
        before the first check)."""
        value = self.state[5]
        return (value if math.isfinite(value) else None, self.state[6])

    @property
    def value(self):
        """The statistic T at the last check (nan before the first)."""
        return self.state[5]

    @property
    def fired(self):
        """Whether the test fired at the last check."""
        return self.state[6]

    def update(self, x):
        """Record the iterate ``x`` of a completed iteration; True when the test fires."""
        rows, used, stride, seen, due, value, fired, spare, origin = self.state
        seen += 1
        if seen % stride == 0:
            if rows is None:
                rows = np.empty((ROWS, self.width), self.dtype)
                spare = np.empty_like(rows)
            elif used == ROWS:
                # Full: keep every other row, copied into the spare buffer (the
                # rows in use stay intact until the state tuple switches).
                np.copyto(spare[:ROWS // 2], rows[1::2])
                rows, spare, used, stride = spare, rows, ROWS // 2, stride * 2
            flat = x.reshape(-1)
            rows[used] = flat if self.index is None else flat[self.index]
            used += 1
        checked = seen >= due
        if checked:
            value = statistic(rows[:used])
            fired = value < THRESHOLD
            due = seen + max(2 * BATCHES, seen // 8)
            if self.average is not None:
                if not fired:
                    origin = None
                elif origin is None:     # the windows cover the last half of the run
                    origin = self.first_t + seen - seen // 2
        if self.average is not None:
            ready = origin is not None and transient_weight(
                self.average, origin, self.first_t + seen) <= TRANSIENT
            self.state = (rows, used, stride, seen, due, value, ready, spare, origin)
            return ready
        self.state = (rows, used, stride, seen, due, value, fired, spare, origin)
        return checked and fired


def check_verdict(saved, where):
    """Check a saved `Stationarity.verdict` (None: none saved)."""
    if saved is None:
        return None
    if not (isinstance(saved, (tuple, list)) and len(saved) == 2
            and (saved[0] is None or (isinstance(saved[0], (int, float))
                                      and not isinstance(saved[0], bool)
                                      and float(saved[0]) >= 0.0))
            and isinstance(saved[1], bool)):
        raise ValueError(f"{where} must have a 'stationarity' entry (T or None, fired) "
                         f"as saved by the method. Got {saved!r:.200} instead.")
    return tuple(saved)


def settings(run, x, saved=None, average=None, t=0):
    """``(stochastic, test, stops)`` for the run options ``run``: whether the
    run is stochastic (the ``stochastic`` option, by default whether
    ``batches`` is given), its `Stationarity` test (None in a deterministic
    run, unless ``stationarity=True``) and whether the test stops the run
    (the ``stationarity`` option, by default in a stochastic run).  A test
    that does not stop the run still gates the plateau test and is shown in
    the ``disp`` table, the ``history`` and the result.  ``average`` and
    ``t``: the run's averaging options and first step count (`Stationarity`)."""
    stochastic = run["stochastic"]
    if stochastic is None:
        stochastic = run["batches"] is not None
    stops = run["stationarity"]
    if stops is None:
        stops = stochastic
    test = Stationarity(x, saved, average, t) if stochastic or stops else None
    return stochastic, test, stops
