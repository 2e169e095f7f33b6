"""The number of threads of a large optimizer step: `set_num_threads`.

A step over an array of at least 8192 float64 (16384 float32) elements is
split between the calling thread and up to ``threads - 1`` workers of a
small persistent pool (see ``_pool.h``).  The result is bitwise identical to
one thread: every element is updated by the same operations wherever it is
computed.
"""

import numbers

from . import _kernels
from . import _validation as check


def set_num_threads(threads: int | None) -> int:
    """Set how many threads a large optimizer step may use.

    Parameters
    ----------
    threads : int or None
        The number of threads, the calling one included: ``1`` runs every
        step on the calling thread only; ``None`` restores the default, the
        ``ADAMOPT_NUM_THREADS`` environment variable if set, else the number
        of CPUs the process may use, at most 4.  More threads than 64 are
        capped at 64.  Builds without POSIX threads (MSVC) always use one.

    Returns
    -------
    int
        The previous number of threads.

    Notes
    -----
    Steps over fewer elements than a threshold measured on a two-core
    machine (8192 float64, 16384 float32) always run on the calling thread:
    below it, handing work to a second thread costs more than it saves.
    When the other cores are busy and a second thread gains nothing, the pool
    backs off to the calling thread for a growing number of steps, so a busy
    machine costs little; an idle pool sleeps and uses no CPU.

    Examples
    --------
    >>> import adamopt
    >>> previous = adamopt.set_num_threads(1)   # one thread from now on
    >>> _ = adamopt.set_num_threads(previous)
    """
    if threads is None:
        return _kernels._set_num_threads(_kernels._default_num_threads())
    n = _positive_int(threads)
    return _kernels._set_num_threads(min(n, 64))


def _positive_int(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"The 'threads' parameter of set_num_threads must be an integer "
                        f">= 1 or None. Got {check.show(value)} instead.")
    if value < 1:
        raise ValueError(f"The 'threads' parameter of set_num_threads must be an integer "
                         f">= 1 or None. Got {check.show(value)} instead.")
    return int(value)
