"""`show_options`: the options of the SciPy methods, read from their docstrings."""

import inspect
import re
from collections.abc import Callable
from typing import Any

from . import _validation as check

_OWNER = "show_options"

#: A numpydoc section header: a title line underlined with dashes.
_SECTION = re.compile(r"^(\S.*)\n-+\n", re.MULTILINE)


def _methods():
    """{name: callable} of every public SciPy method (a public function whose
    docstring has an Options section), in the order of ``adamopt.__all__``."""
    import adamopt

    found = {}
    for name in adamopt.__all__:
        obj = getattr(adamopt, name)
        if inspect.isfunction(obj) and "\nOptions\n" in (inspect.getdoc(obj) or ""):
            found[name] = obj
    return found


def _section(doc, title):
    """The body of the numpydoc section ``title`` of a cleaned docstring."""
    headers = list(_SECTION.finditer(doc))
    for i, header in enumerate(headers):
        if header.group(1).strip() == title:
            end = headers[i + 1].start() if i + 1 < len(headers) else len(doc)
            return doc[header.end():end].strip("\n")
    return ""


def show_options(method: str | Callable[..., Any] | None = None,
                 disp: bool = True) -> str | None:
    r"""Show the options of the `scipy.optimize.minimize` methods of adamopt.

    The counterpart of `scipy.optimize.show_options` for ``method=adamopt.adam``
    and friends: the ``Options`` section of the method's docstring (the same
    text ``help(adamopt.adam)`` shows), so it never disagrees with it.

    Parameters
    ----------
    method : str or callable, optional
        A method's name (``"adam"``, ``"adamw"``, ...; case-insensitive) or the
        method itself (``adamopt.adam``).  Without it, every method is shown.
    disp : bool, default: True
        Print the text; otherwise return it.

    Returns
    -------
    str or None
        The text when ``disp=False``, else None.

    Raises
    ------
    ValueError
        For a name that is not one of adamopt's methods (the message lists them).

    See Also
    --------
    scipy.optimize.show_options : the same for SciPy's own methods.

    Notes
    -----
    Each method's update equations and references are in its docstring
    (``help(adamopt.adam)``), for example Adam's step (Kingma & Ba [1]_,
    Algorithm 1):

    .. math::

        x_t = x_{t-1} - \alpha_t \frac{m_t / (1 - \beta_1^t)}
                                        {\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}

    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic
       Optimization", ICLR 2015, arXiv:1412.6980.

    Examples
    --------
    >>> import adamopt
    >>> text = adamopt.show_options("adam", disp=False)
    >>> print(text.splitlines()[0])
    lr : float or callable, default: 1e-3
    """
    methods = _methods()
    if method is None:
        names = list(methods)
    else:
        if callable(method):
            names = [name for name, obj in methods.items() if obj is method]
        elif isinstance(method, str):
            names = [name for name in methods if name == method.lower()]
        else:
            raise check._fail(TypeError, "method", _OWNER,
                              "a method name such as 'adam' or a method such as adamopt.adam",
                              method)
        if not names:
            raise check._fail(ValueError, "method", _OWNER,
                              f"one of {', '.join(map(repr, methods))} (or the method "
                              f"itself)", method)
    disp = check.boolean(disp, "disp", _OWNER)
    parts = []
    for name in names:
        body = _section(inspect.getdoc(methods[name]), "Options")
        parts.append(body if method is not None else f"{name}\n{'=' * len(name)}\n\n{body}")
    text = "\n\n".join(parts)
    if disp:
        print(text)
        return None
    return text
