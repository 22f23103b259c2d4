"""Kernels: plain Python functions that numba compiles the first time one is called.

Importing numba costs about a second, and compiling a kernel more, so defining kernels imports
nothing: :func:`jit` wraps each function in a :class:`Kernel` that keeps the Python function and
imports numba only when a kernel is first called in compiled mode. Inside :func:`interpreted`,
or everywhere with ``NUMBA_DISABLE_JIT=1`` set (read as numba reads it), kernels run as the same
source interpreted: that is how a one-shot search of a tiny index answers in milliseconds, and
how the test suite checks that the reference and the fast path agree.

Kernels call kernels by their global names: numba types a :class:`Kernel` it meets there as the
kernel's compiled dispatcher, so a compiled caller calls compiled callees. Loops written
``for i in prange(n)`` in a module that imports :data:`prange` from here run as ``range``
interpreted and as ``numba.prange`` compiled.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading

prange = range  # stand-in; a kernel's module gets numba.prange when the kernel compiles


def _env_flag(name: str) -> bool:
    """An integer environment flag read as numba reads its own (unset or not an integer: off)."""
    try:
        return bool(int(os.environ.get(name, "0")))
    except ValueError:
        return False


_interpret = _env_flag("NUMBA_DISABLE_JIT")
_lock = threading.RLock()


@contextlib.contextmanager
def interpreted():
    """Run every kernel as plain Python inside the ``with`` block, in every thread of the process.

    For one-shot work on small inputs, where importing numba would cost more than the work: the
    ``winnow search`` command searches a tiny index this way.
    """
    global _interpret
    before, _interpret = _interpret, True
    try:
        yield
    finally:
        _interpret = before


def interpreting() -> bool:
    """Whether kernels run as plain Python (inside :func:`interpreted`, or with ``NUMBA_DISABLE_JIT=1``)."""
    return _interpret


class Kernel:
    """A numba-compatible function, run compiled (compiling on first need) or interpreted.

    Attributes:
        py: the plain Python function.
        options: the ``numba.njit`` options it compiles with.
    """

    def __init__(self, py, options: dict):
        functools.update_wrapper(self, py)
        self.py = py
        self.options = options
        self._dispatcher = None

    def __call__(self, *args, **kwargs):
        if _interpret:
            return self.py(*args, **kwargs)
        return (self._dispatcher or self.dispatcher())(*args, **kwargs)

    def dispatcher(self):
        """The numba dispatcher of this kernel (importing numba on first need); it compiles one
        specialisation per argument types when first called with them, from numba's on-disk cache
        when it holds one."""
        with _lock:
            if self._dispatcher is None:
                import numba

                if self.py.__globals__.get("prange") is prange:
                    self.py.__globals__["prange"] = numba.prange
                self._dispatcher = numba.njit(**self.options)(self.py)
        return self._dispatcher

    @property
    def _numba_type_(self):
        """How numba types this kernel where a compiled caller names it: as its dispatcher."""
        return self.dispatcher()._numba_type_

    def __repr__(self) -> str:
        return f"<kernel {self.__module__}.{self.__qualname__}>"


def jit(py=None, *, parallel: bool = False):
    """Decorate a kernel: ``@jit``, or ``@jit(parallel=True)`` for one whose loops use :data:`prange`.

    It compiles with ``cache=True`` (to numba's on-disk cache) and ``nogil=True`` (threads run
    kernels side by side).
    """
    options = {"cache": True, "nogil": True} | ({"parallel": True} if parallel else {})
    if py is None:
        return lambda f: Kernel(f, options)
    return Kernel(py, options)
