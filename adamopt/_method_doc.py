r"""The shared part of every SciPy method's docstring: its parameters, the
run's options (after the algorithm's own, ``{options}``), what it returns
and raises.  ``adamopt._derive`` fills in each algorithm's pieces."""

#: The clipping options (the classes' and the methods'), written once.
CLIP_DOC = r"""    max_grad_norm : float, optional
        Clip the gradient to this 2-norm, as PyTorch's ``clip_grad_norm_``: with
        :math:`\nu = \lVert g \rVert_2` over every array being stepped, the
        gradient is multiplied by :math:`c / (\nu + 10^{-6})` when that is below 1.
        Fused into the step's pass over the gradient (no extra pass over memory);
        ``inf`` only measures the norm.  The norm before clipping is ``grad_norm``.
    max_grad_value : float, optional
        Clamp every gradient element to :math:`[-v, v]` (``clip_grad_value_``),
        before the norm of ``max_grad_norm`` is taken.  The gradient check
        applies to the gradient as given, before clipping.
"""



def _average_doc():
    from ._averaging import DEFAULTS, DOCS
    out = ""
    for name, (kind, text) in DOCS.items():
        default = DEFAULTS[name]
        shown = "optional" if default is None else f"default: {default!r}"
        body = "\n".join("        " + line for line in text.split("\n"))
        out += f"    {name} : {kind}, {shown}\n{body}\n"
    return out


#: The iterate-averaging options (the classes' and the methods'), written once
#: from `adamopt._averaging.DOCS`.
AVERAGE_DOC = _average_doc()

_OPTIONS_DOC = r"""
    Parameters
    ----------
    fun : callable
        The objective, ``fun(x, *batch, *args) -> float``, where ``batch`` is the
        tuple drawn from the ``batches`` option for this iteration (empty without
        it).  With ``jac=True`` it returns ``(value, gradient)``.  It receives a
        copy of ``x`` (in the dtype of ``x0``) and may modify it.
    x0 : array_like, shape (n,)
        Initial point; float32 stays float32, integers become float64.
    args : tuple, optional
        Extra arguments passed after the batch to ``fun`` and ``jac``.
    jac : callable, True or None
        The gradient: ``jac(x, *batch, *args) -> array`` evaluated on the same
        batch as ``fun``; ``True`` when ``fun`` returns the value and the
        gradient together (one call per iteration; SciPy's memoizing wrapper,
        which caches by ``x`` alone and would return a stale gradient when the
        batch changes but ``x`` does not, is bypassed); ``None`` (what
        `~scipy.optimize.minimize` passes for ``'2-point'``, and also for
        ``'3-point'`` and ``'cs'``, which a method cannot tell apart) for
        forward differences on the same batch, ``n + 1`` calls of ``fun`` per
        iteration with steps ``sqrt(eps) * max(1, |x_i|)``; the result's
        ``message`` then says that forward differences were used.
    bounds : sequence of (min, max) pairs or `~scipy.optimize.Bounds`, optional
        Box constraints (``None`` or an infinity for no bound).  ``x0`` is
        clipped into the box and every iterate is projected back onto it after
        its step (projected Adam), so every point ``fun`` sees is feasible.
        Bounds are rounded inward to float32 for float32 ``x0``.
    callback : callable, optional
        Called after each iteration, in either of SciPy's styles (chosen by the
        parameter's name): ``callback(xk)`` with a copy of the iterate, or
        ``callback(intermediate_result)`` with an `~scipy.optimize.OptimizeResult`
        holding ``x``, ``fun``, ``jac`` and ``nit``.  Raising `StopIteration`
        ends the run with ``status=99``.
    hess, hessp, constraints
        Accepted for SciPy's sake and ignored (with a `RuntimeWarning` when
        given: a first-order method uses no Hessian and no constraints).

    Options
    -------
{options}
    maximize : bool, default: False
        Maximize ``fun`` instead (the plateau test then looks for increases).
    schedule : callable, optional
        A multiplier ``schedule(t) -> eta_t`` of the learning rate.{schedule_extra}
{clip}    maxiter : int, default: 1000
        Maximum number of iterations (steps) in this call.  A float is rounded
        down (``1e4`` is fine); ``numpy.inf`` leaves the run to the other
        stopping rules.
    maxfev : int, optional
        Maximum number of calls of ``fun`` (counted as ``nfev``, from the
        fresh start of the run across resumes): the run stops with
        ``status=1`` and SciPy's message "Maximum number of function
        evaluations has been exceeded." before an iteration whose evaluation
        would exceed it (``n + 1`` calls with forward differences), so
        ``nfev <= maxfev`` once ``x0`` is evaluated.
    gtol : float, default: 1e-5
        Stop with ``status=0`` when ``norm(s_t) <= gtol``.  In a deterministic
        run (see ``stochastic``) ``s_t`` is the gradient at the current
        iterate, as in SciPy's methods (plus ``weight_decay * x`` when the
        decay is coupled), so ``success`` is never reported while the gradient
        at ``x`` exceeds ``gtol`` (with ``average``, when the gradient at the
        average exceeds it, ``x`` is the last iterate, which passed the test,
        and ``message`` says so).  In a stochastic run it is a smoothed
        gradient: {gtol}
        With bounds the projected ``x - clip(x - s_t)`` is used.  ``0``
        disables the test.
    tol : float, optional
        `~scipy.optimize.minimize`'s ``tol``: sets ``gtol`` unless ``gtol`` is
        given.
    norm : float, default: numpy.inf
        Order of the norm in the ``gtol`` test (as in SciPy's BFGS and CG).
    patience : int, optional
        Enables the plateau test: stop with ``status=2`` when the running
        average of ``fun`` has not improved on its best value by more than
        ``ftol * |best|`` for ``patience`` consecutive iterations.  In a
        stochastic run it fires only once the stationarity test has (a
        plateau of the minibatch losses' average comes long before the
        optimum).
    stochastic : bool, optional
        Whether ``fun`` is noisy (minibatches, Monte-Carlo estimates).  By
        default, whether ``batches`` is given; ``True`` for an objective that
        draws its own random numbers.  It decides what ``gtol`` tests and
        whether the stationarity test runs.
    stationarity : bool, optional
        The stationarity test, on by default in a stochastic run: stop with
        ``status=7`` (success) when the iterates fluctuate around a point
        without drifting, the noise floor of the learning rate.  It compares
        the distance between the mean iterates of two consecutive windows (the
        last half of the run) with the spread of batch means within them:
        ``T`` is about 1 at stationarity and 25 while drifting, and the test
        fires at ``T < 2``, checked every eighth of the elapsed iterations
        from iteration 400.  No tuning; it uses only the iterates (beyond 1024
        parameters, a fixed random subset of 1024 coordinates), so it works
        alike for every algorithm and costs no pass over ``x``.  ``False``
        leaves the run to the other rules (``T`` is still computed in a
        stochastic run); ``True`` runs it in a deterministic run too.  A
        resumed run keeps the test's verdict and restarts its windows.
        With ``average``, the test waits until the average puts at most 5%
        of its weight on the iterates before the stationary window (about
        3000 more steps for ``"ema"`` at the default decay; long for
        ``"polyak"`` from ``average_start=0``), so that ``res.x`` is at the
        noise floor too.  See the user guide's *Noisy objectives* page.
    ftol : float, default: 1e-4
        Relative improvement the plateau test asks for.
    smoothing : float, default: 0.9
        Factor of the running (exponential, bias-corrected) average of ``fun``
        used by the plateau test: it averages over about ``1/(1-smoothing)``
        iterations.
    groups : list of dict, optional
        PyTorch's parameter groups over parts of ``x``: each a dict
        ``{"params": part, <hyperparameter>: value, ...}`` whose hyperparameters
        (any option above but the fixed ones and ``maximize``) replace the
        run's for the elements of ``x`` in ``part``: a slice, a list of slices,
        a boolean mask of ``x``'s length or an integer index array (such as
        ``unravel.slices["b"]`` of `adamopt.ravel`).  The rest of ``x`` is the
        default group, with the run's options.  For example
        ``groups=[{"params": unravel.slices["b"], "weight_decay": 0.0}]``
        exempts the biases from decay.  All groups take one compiled step
        (``max_grad_norm`` clips the norm over all of ``x`` unless a group
        sets its own); a mask or index array costs one array per run of
        consecutive elements, so prefer slices.  A group that is empty,
        selects an element twice or one that another group holds, an index
        out of range, a mask of the wrong length or a key that is not a
        hyperparameter of the algorithm is refused with `ValueError`.  The
        ``state`` and checkpoints of a run with groups resume only with the
        same ``groups``.
    batches : iterable, optional
        Each iteration draws the next item and calls ``fun(x, *item, *args)``
        (an item that is not a tuple is passed as one argument), for example
        ``adamopt.minibatches(X, y, batch_size=64, seed=0)``.  A finite
        iterable that runs out ends the run with ``status=3``.
    state : mapping, optional
        The ``state`` of a previous result: the run continues where that one
        stopped (moments, step count, stopping-rule averages, the evaluation
        at ``x`` and any minibatch drawn but not used), bitwise identically to
        a run that never stopped when ``x0`` is that result's ``x`` (its
        ``x_last`` with ``average``: ``x`` is then the average), the same
        ``batches`` iterator is passed (it has advanced) and the options are the
        same.  Options not given are taken from the state: adamopt's own
        schedules (`adamopt.CosineWarmRestarts`, ...) are kept in it, any other
        callable ``lr``, ``schedule`` or ``weight_decay`` must be given again.
        With another ``x0`` the moments are kept and ``fun`` is evaluated
        afresh there.
    checkpoint : str or os.PathLike, optional
        Write the whole run state to this file every ``checkpoint_every``
        iterations and when the run ends (except after a fault, status 4 or
        5, where the last checkpoint before it stays): ``x``, the optimizer
        state, ``fun`` and ``jac`` at ``x``, the plateau test's state, the
        counts and the position of the ``batches`` stream, which must then be
        able to save it (`adamopt.minibatches`, or an iterator with
        ``state_dict()`` and ``load_state_dict(state)``).  The file is a NumPy
        ``.npz`` archive with a versioned JSON header, read without pickle.
        Each write is atomic (a temporary file in the same directory, flushed,
        fsynced and renamed over the old one): a process killed at any instant
        leaves the previous checkpoint or the new one, never a torn file.  The
        file has mode 0600 whatever the umask.  The path must not be a
        symbolic link (refused before the run: give the path it points to)
        nor a directory, FIFO, socket or device.  A
        callable ``lr`` or ``schedule`` is stored only if it is one of
        adamopt's storable schedule objects; otherwise the checkpoint records
        that it must be passed again.
    checkpoint_every : int, default: 100
        Iterations between checkpoints (counted from the run's fresh start).
        A write costs a few milliseconds (the fsync) plus writing about four
        arrays of ``x``'s size (measured: 3 ms for n = 1000, 80 ms for
        n = 1e6 on an ext4 disk).
        The path is checked before the run (an unwritable one raises
        `ValueError`); an error while writing (a full disk) raises and leaves
        the previous checkpoint.
    resume : bool or str or os.PathLike, default: False
        Continue from a checkpoint: ``True`` from the ``checkpoint`` file if it
        exists (a fresh run otherwise, so the same script can be started again
        after it was killed), or from the file given.  The checkpoint must be
        from this method, with ``x0`` of the same size and dtype (its value is
        replaced by the checkpoint's ``x``) and the same kind of ``batches``
        (pass a new stream over the same data with the same settings: its
        position is restored); otherwise `ValueError`.  Options not given are
        taken from the checkpoint, as for ``state``.  Across resumes,
        ``maxiter``, ``nit``, ``nfev`` and ``njev`` count from the fresh start
        of the run (not from the resume), so a run killed and resumed any
        number of times with the same options stops at the same iteration,
        with the same ``x`` bit for bit, as one never interrupted; a run that
        had converged (status 0 or 2) ends at once with the same result, and
        one that reached ``maxiter`` continues only with a larger
        ``maxiter``.  Not with ``state``.  A file that is not a checkpoint
        (damaged or hostile: a zip bomb, a huge declared array, a FIFO) is
        refused with `ValueError`, quickly and in bounded memory; a file
        given as ``resume=path`` may be a symbolic link (followed).
    interrupt : {"return", "raise"}, default: "return"
        What Ctrl-C (`KeyboardInterrupt`) does to the run.  Either way the run
        stops with a consistent result (``status=6``) and the final
        checkpoint, if ``checkpoint`` is given, is written first (when the
        interrupt came at the end of an iteration; one that caught the
        objective mid-evaluation leaves the last checkpoint, and the message
        says which iteration the file holds).
        ``"return"``: the result is returned and an
        `adamopt.InterruptedWarning` on standard error names the iteration
        and how to resume (``x0=res.x`` (``res.x_last`` with averaging) and
        ``options={..., "state": res.state}``, or the checkpoint with
        ``resume=True``); a script goes on, but never silently, and a filter
        that turns the warning into an error still hands the result over as
        the warning's ``result``.  ``"raise"``: the `KeyboardInterrupt` is
        raised again, the result attached as its ``result`` attribute (and
        the same text as a note), so a script stops at once, with the exit
        status of an uncaught Ctrl-C, unless it catches it::

            try:
                res = minimize(fun, x0, method=adamopt.adam,
                               options={"interrupt": "raise"})
            except KeyboardInterrupt as stop:
                res = stop.result
    disp : bool, default: False
        Print a table of the iterations as the run goes (iteration, ``fun`` on
        its minibatch, its running average with factor ``smoothing``, the
        2-norms of the gradient and of the step, seconds elapsed) and a
        summary when it ends.  Rows come at iterations 0, 1, 2, 5, 10, 20,
        50, ... and every ``maxiter // 10``, or every ``disp_every``; the
        last iteration always has one.
    disp_every : int, optional
        Print a row of the ``disp`` table every ``disp_every`` iterations.
    progress : bool, default: False
        Show a `tqdm <https://tqdm.github.io>`_ progress bar (iterations, rate
        and the running average of ``fun``; redrawn about ten times a second,
        in a notebook as a widget).  tqdm is optional: without it a
        `UserWarning` says so and the ``disp`` table is printed instead (the
        run itself never depends on it).
    history : bool or int, default: False
        Record the run in ``res.history``: ``True`` every iteration, an
        integer ``k`` every ``k``-th (iteration 0 and the last iteration
        always), as a mapping of NumPy arrays ``nit``, ``fun`` (on the
        iteration's minibatch), ``fun_smoothed`` (its running average with
        factor ``smoothing``, restarted in each call), ``grad_norm`` and
        ``step_norm`` (2-norms of the gradient at the iterate and of the step
        that reached it) and ``time`` (seconds).  Memory is bounded: at
        10,000 rows every other row is dropped and the interval doubles
        (``res.history.every``).  Draw it with `adamopt.plot_history`.

    Returns
    -------
    res : scipy.optimize.OptimizeResult
        ``x`` (same dtype as ``x0``), ``fun`` and ``jac`` at ``x`` (``jac`` is
        None when no gradient is known there, e.g. after a fault when the
        objective returns the same gradient array every call), ``nit``
        (iterations in this call), ``nfev`` and ``njev`` (calls of ``fun`` and
        gradient evaluations made in this call; with ``jac=True`` each call
        counts in both; with forward differences ``nfev`` counts every call and
        ``njev`` each gradient estimated, as SciPy counts them), ``status``,
        ``success`` (True only when a convergence test fired: status 0, 2 or
        7), ``message``, ``state`` (see the ``state`` option; to keep a
        run's memory at its arrays plus two copies of ``x``, the state holds
        the optimizer's own moments and ``jac``'s array as the gradient of
        its last evaluation, not copies: modify ``res.jac`` in place only if
        the state is not passed on),
        ``fun_smoothed`` (the running average of ``fun`` over the run, with
        factor ``smoothing`` and bias-corrected: on a noisy objective the
        value to trust, where ``fun`` is one minibatch's) and
        ``stationarity`` (the stationarity test's ``T`` at its last check, NaN
        before it and in a deterministic run).  A run whose learning rate
        follows a schedule and that reaches ``maxiter`` (a fixed-budget run)
        says so in ``message``.

        ======  ==============================================================
        status  meaning
        ======  ==============================================================
        0       ``gtol`` test fired (success)
        1       ``maxiter`` or ``maxfev`` reached
        2       plateau test fired (success)
        3       the ``batches`` iterable is exhausted
        4       ``fun`` returned a non-finite value: ``x`` is the last iterate
                where the objective and the gradient were finite
        5       the gradient is not finite (or would overflow when squared),
                or a step overflowed ``x`` to infinity while ``fun`` stayed
                finite (found at the end of the run): ``x`` as for 4
        6       `KeyboardInterrupt` (Ctrl-C): ``x`` is the current iterate,
                ``state`` resumes the run and ``nit`` counts the steps
                taken; if the interrupt came after a step, before the
                evaluation at its iterate completed, ``fun`` and ``jac`` are
                from the previous iterate.  Never silent: an
                `adamopt.InterruptedWarning` says so, or with
                ``interrupt="raise"`` the interrupt is raised again with
                this result as its ``result``
        7       the stationarity test fired (success)
        99      ``callback`` raised `StopIteration`
        ======  ==============================================================

    Raises
    ------
    ValueError, TypeError
        For an invalid option or argument, naming it; before any call of ``fun``.
    KeyboardInterrupt
        With ``interrupt="raise"``, on Ctrl-C: the interrupt itself, raised
        again once the result is built, which is its ``result`` attribute.

    Warns
    -----
    OptimizeWarning
        For an option this method does not know, and with ``disp=True`` when
        the run ends without success (its message), as SciPy's methods do.
    adamopt.InterruptedWarning
        When Ctrl-C ended the run (``status=6``, with the default
        ``interrupt="return"``): the iteration and how to resume.

    Notes
    -----
    Each iteration steps from the current iterate with the gradient evaluated
    there, projects onto the bounds, draws the next batch and evaluates the
    objective at the new iterate; so ``nfev == nit + 1`` for a fresh run
    with a gradient, and ``fun`` and ``jac`` in the result belong to ``x``.
    The optimizer refuses a non-finite gradient before it touches the state,
    so no NaN ever reaches ``x``; the ``x`` of a result is always finite.

    Runs are deterministic (same inputs and seed, same bits, whatever the
    number of threads) and distinct runs may go on in different threads at
    once; one ``batches`` stream must not be shared between concurrent runs.
"""
