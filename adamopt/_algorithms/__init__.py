"""The algorithm declarations, one module each (see ``adamopt._registry``).

Importing this package imports every module in it, so an algorithm is added
by adding its module: no list to edit.
"""

import importlib
import pkgutil

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")
