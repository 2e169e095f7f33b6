"""Type stub of the compiled module adamopt._loops_baseline."""

from typing import Any

NAME: str
TABLE: Any   # a PyCapsule holding the KernelTable of this variant
