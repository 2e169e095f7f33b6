"""Ctrl-C in a run of the SciPy methods: the ``interrupt`` option, written once.

A `KeyboardInterrupt` anywhere in the run loop ends the run with status 6
and a consistent, resumable result (`adamopt._minimize._loop`).  What
happens next is the ``interrupt`` option's choice, made here once the
result is built (and the final checkpoint, if one is configured, written):

``"return"`` (the default)
    the result is returned, and an `InterruptedWarning` says so on standard
    error: the iteration, and how to continue the run (its ``state``, and
    the checkpoint when there is one).  A script that runs several fits goes
    on with the next one, but never silently; ``warnings.simplefilter("error",
    adamopt.InterruptedWarning)`` turns the warning into an exception that
    carries the result too (``exc.result``).
``"raise"``
    the `KeyboardInterrupt` is raised again (the same exception object, with
    its traceback), with the result attached as ``exc.result`` and a note
    that names the iteration and how to resume: the program stops, with the
    exit status of an uncaught Ctrl-C, unless the caller catches it.
"""

from . import _validation as check

#: The values of the ``interrupt`` option.
CHOICES = ("return", "raise")

#: Its default.
DEFAULT = "return"


class InterruptedWarning(UserWarning):
    """Warned when Ctrl-C ended a run of a SciPy method, which returned its result.

    A `KeyboardInterrupt` ended the run of one of adamopt's SciPy methods,
    which returned the result so far (status 6; the method's ``interrupt``
    option, default ``"return"``).

    The message names the iteration and how to continue the run.  The
    warning carries the result as ``result``, so that a filter that turns it
    into an error (``warnings.simplefilter("error", InterruptedWarning)``,
    or pytest's ``filterwarnings = error``) still hands it over::

        try:
            res = minimize(fun, x0, method=adamopt.adam, options=options)
        except adamopt.InterruptedWarning as stop:
            res = stop.result

    Parameters
    ----------
    message : str
        The text: the method, the iteration and how to resume.
    result : scipy.optimize.OptimizeResult, optional
        The result of the interrupted run (``status == 6``).

    Attributes
    ----------
    result : scipy.optimize.OptimizeResult or None
        The result of the interrupted run.
    """

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result

    def __reduce__(self):      # (pickled without its result, like its plain text)
        return type(self), (str(self),)


def check_option(value, name, owner):
    """The ``interrupt`` option: ``"return"`` or ``"raise"``."""
    if not isinstance(value, str) or value not in CHOICES:
        raise check._fail(ValueError if isinstance(value, str) else TypeError, name, owner,
                          '"return" or "raise"', value)
    return value


def message(owner, result, path=None, saved=None, batches=False, raised=False):
    """The text of the warning (``raised``: of the note of a re-raised
    interrupt, whose result is ``exc.result``): the iteration, and how to
    continue the run from ``result`` (and from the checkpoint ``path``, which
    holds iteration ``saved``, None: none written)."""
    res = "exc.result" if raised else "res"
    x0 = f"{res}.x_last" if "x_last" in result else f"{res}.x"
    text = (f"{owner} was interrupted by KeyboardInterrupt (Ctrl-C) at iteration "
            f"{result.nit}; " + ("it is raised again, with the result so far as exc.result"
                                 if raised else "the result so far is returned")
            + f" (status {result.status}, success=False). To continue the run from that "
            f"result {res}, call minimize again with x0={x0} and the same options plus "
            f"options={{..., 'state': {res}.state}}"
            + (" (and the same batches iterator, which has advanced)" if batches else ""))
    if path is not None:
        text += (f"; or with options={{..., 'checkpoint': {str(path)!r}, 'resume': True}}, "
                 + (f"from the checkpoint, which holds iteration {saved}" if saved is not None
                    else "though no checkpoint was written yet (it starts afresh)"))
    return text + "."


def report(run, result, warn):
    """After a run that a `KeyboardInterrupt` ended (``run.interrupted``, its
    ``result`` of status 6, or 5 when a step had overflowed ``x``): warn with an
    `InterruptedWarning` (``interrupt="return"``) or raise the interrupt
    again, ``result`` attached (``"raise"``).  ``warn(warning, category)``
    is the run's warner (it attributes the warning to the user's call)."""
    exc, run.interrupted = run.interrupted, None     # (its traceback holds the loop's frame)
    if exc is None:
        return
    saver = run.saver
    where = ((None, None) if saver is None else (saver.path, saver.last)) + (
        run.batches is not None,)
    if run.interrupt == "raise":
        exc.result = result
        if hasattr(exc, "add_note"):     # Python >= 3.11
            exc.add_note(message(run.owner, result, *where, raised=True))
        raise exc
    warn(InterruptedWarning(message(run.owner, result, *where), result),
         InterruptedWarning)
