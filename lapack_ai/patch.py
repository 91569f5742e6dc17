"""Route ``numpy.linalg`` and ``scipy.linalg`` through lapack_ai, for code that cannot change.

``lapack_ai.patch()`` replaces the module attributes ``numpy.linalg.<name>`` (by the top-level
lapack_ai function of NumPy's spelling) and ``scipy.linalg.<name>`` (by ``lapack_ai.scipy``'s
function of SciPy's signature), for every name a registry routine ``replaces``; everything else
is left alone. ``unpatch()`` puts the originals back; ``with patched():`` does both around a
block, and nests. The registry (``lapack_ai.registry``) is the one list of what is patched.

Code that bound a function before the patch (``from numpy.linalg import svd``) keeps the
original: only calls through the module attribute (``np.linalg.svd(...)``) are routed.
NumPy's and SciPy's own internals (``numpy.linalg._linalg``, ``scipy.linalg._decomp``, ...)
are not patched, so functions not listed (``np.linalg.matrix_power``, ``tensorinv``) compute
exactly as before. SciPy is optional: without it only NumPy is patched, and ``patch()``
imports ``scipy.linalg`` when SciPy is installed (``import lapack_ai`` never does).

A patched function runs lapack_ai, and the original only where lapack_ai would not give the
original's result (the fallback, which costs nothing until it happens):

- arguments that lapack_ai refuses but the original may take: a ``TypeError`` or
  ``ValueError`` that is not a LinAlgError (a complex or float16 dtype, an object array, NaN
  given to NumPy, which has no ``check_finite``, a shape or option lapack_ai does not take),
  and ``NotImplementedError`` (a SciPy keyword ``lapack_ai.scipy`` cannot honour). The
  original then returns its result or raises its own error;
- ``IllConditionedWarning`` raised as an error (warnings filtered to "error"): NumPy does not
  warn, SciPy raises its own ``LinAlgWarning`` under the same filter;
- arrays of other libraries (a type that overrides ``__array_function__``: CuPy, Dask, ...),
  which NumPy dispatches to their library;
- calls made while a patched call runs (lapack_ai's own use of ``np.linalg``).

Numerical failures are lapack_ai's errors, which subclass ``numpy.linalg.LinAlgError`` (also
SciPy's), so ``except np.linalg.LinAlgError`` code and tests behave as before.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import threading
from typing import Callable, Iterable, Iterator

import numpy as np

from .errors import IllConditionedWarning
from .registry import REGISTRY

__all__ = ["patch", "unpatch", "patched"]

_log = logging.getLogger("lapack_ai")
_LOCK = threading.RLock()
_MODULES = ("numpy.linalg", "scipy.linalg")
_PATCHED: dict[str, tuple[object, str, Callable, Callable]] = {}
"""dotted name -> (module, attribute, original, the function put there)."""

_NP_ARRAY_FUNCTION = np.ndarray.__array_function__
_FALLBACK = (TypeError, ValueError, NotImplementedError, IllConditionedWarning)
_busy = threading.local()  # set while this thread runs a patched call


def _route(dotted: str, ours: Callable, original: Callable) -> Callable:
    """The function put at ``dotted``: ``ours``, or ``original`` by the rules in the module
    docstring. On the common path (plain ndarrays, no error) it adds one frame and a
    thread-local flag, well under a microsecond (benchmarks/patch_overhead.py)."""
    ndarray, linalg_error, busy = np.ndarray, np.linalg.LinAlgError, _busy

    @functools.wraps(original)  # name, docs and inspect.signature stay the original's
    def routed(*args, **kwargs):
        for x in args:
            if type(x) is not ndarray and getattr(type(x), "__array_function__", _NP_ARRAY_FUNCTION) \
                    is not _NP_ARRAY_FUNCTION:
                return original(*args, **kwargs)
        if busy.__dict__.get("on"):
            return original(*args, **kwargs)
        busy.on = True
        try:
            return ours(*args, **kwargs)
        except linalg_error:
            raise
        except _FALLBACK as e:
            _log.debug("%s: lapack_ai declined (%s: %s); the original ran", dotted, type(e).__name__, e)
            return original(*args, **kwargs)
        finally:
            busy.on = False

    routed.__lapack_ai__ = ours  # type: ignore[attr-defined]
    return routed


def _candidates() -> dict[str, tuple[str, str, Callable]]:
    """dotted name -> (module name, attribute, lapack_ai function) for every name the registry
    says a routine replaces, in a module that can be imported."""
    import lapack_ai

    scipy_side = None
    out = {}
    for r in REGISTRY.values():
        for dotted in r.replaces:
            mod, _, attr = dotted.rpartition(".")
            if mod == "numpy.linalg":
                ours = getattr(lapack_ai, r.name, None)
            else:
                if scipy_side is None:
                    scipy_side = _scipy_wrappers()
                ours = getattr(scipy_side, attr, None) if scipy_side else None
            if ours is not None:
                out[dotted] = (mod, attr, ours)
    return out


def _scipy_wrappers():
    """``lapack_ai.scipy`` when SciPy is installed (``scipy.linalg`` imported to be patched), else False."""
    try:
        importlib.import_module("scipy.linalg")
    except ImportError:
        return False
    from . import scipy as wrappers

    wrappers.scipy_warnings()  # in case lapack_ai.scipy was imported before SciPy
    return wrappers


def _matches(dotted: str, target: str) -> bool:
    module, _, name = dotted.rpartition(".")
    return target in (dotted, module, name)


def _select(targets, known: Iterable[str]) -> list[str]:
    known = list(known)
    if targets is None:
        return known
    if isinstance(targets, str):
        targets = [targets]
    chosen = []
    for t in targets:
        hits = [d for d in known if _matches(d, t)]
        if not hits:
            raise ValueError(f"patch: {t!r} is not a function lapack_ai replaces here; give a name "
                             f"('svd'), a dotted name ('numpy.linalg.svd') or a module ({', '.join(_MODULES)}); "
                             f"replaceable now: {', '.join(known)}")
        chosen += [d for d in hits if d not in chosen]
    return chosen


def patch(targets: str | Iterable[str] | None = None, *, verbose: bool = False) -> list[str]:
    """Route ``numpy.linalg`` and ``scipy.linalg`` functions through lapack_ai (see the module
    docstring for what is patched and when the original still runs).

    ``targets``: None for every function lapack_ai replaces, or names: 'svd' (both libraries'),
    'numpy.linalg.svd', or a whole module, 'numpy.linalg' / 'scipy.linalg'. Already patched
    names are left as they are (calling it twice patches nothing more). Returns the dotted
    names this call patched; they are logged on the ``lapack_ai`` logger (INFO), and printed
    with ``verbose=True``. Thread-safe; undo with ``unpatch()``.

    Raises ValueError for a target lapack_ai does not replace.
    """
    with _LOCK:
        table = _candidates()
        done = []
        for dotted in _select(targets, table):
            if dotted in _PATCHED:
                continue
            mod_name, attr, ours = table[dotted]
            module = importlib.import_module(mod_name)
            original = getattr(module, attr, None)
            if original is None:  # an older NumPy/SciPy without this function
                continue
            routed = _route(dotted, ours, original)
            setattr(module, attr, routed)
            _PATCHED[dotted] = (module, attr, original, routed)
            done.append(dotted)
    _report("routed through lapack_ai", done, verbose)
    return done


def unpatch(targets: str | Iterable[str] | None = None, *, verbose: bool = False) -> list[str]:
    """Put back the original NumPy/SciPy functions (all of them, or ``targets`` as in
    ``patch``; names not patched are skipped). Returns the dotted names restored. A name that something else replaced after
    the patch is left to it (and not reported restored)."""
    with _LOCK:
        done = []
        targets = [targets] if isinstance(targets, str) else targets
        for dotted in [d for d in _PATCHED if targets is None or any(_matches(d, t) for t in targets)]:
            module, attr, original, routed = _PATCHED.pop(dotted)
            if getattr(module, attr, None) is routed:
                setattr(module, attr, original)
                done.append(dotted)
            else:
                _log.warning("unpatch: %s was replaced again after lapack_ai.patch(); left as it is", dotted)
    _report("restored", done, verbose)
    return done


@contextlib.contextmanager
def patched(targets: str | Iterable[str] | None = None, *, verbose: bool = False) -> Iterator[list[str]]:
    """``with lapack_ai.patched():`` routes through lapack_ai inside the block only (as
    ``patch``; yields the names it patched). On exit it restores what it patched itself, so
    nested blocks, or a block inside ``patch()``, leave the outer patch in place."""
    names = patch(targets, verbose=verbose)
    try:
        yield names
    finally:
        if names:
            unpatch(names, verbose=verbose)


def _report(what: str, names: list[str], verbose: bool) -> None:
    if not names:
        return
    msg = f"lapack_ai: {len(names)} functions {what}: {', '.join(names)}"
    _log.info(msg)
    if verbose:
        print(msg)
