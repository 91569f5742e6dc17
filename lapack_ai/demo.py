"""The demo: ``python -m lapack_ai.demo`` (or ``./dev demo``).

Runs each routine on random input and checks it against NumPy, shows what a failure looks
like (a structured error report and ``diagnose``), then prints a short speed table against
NumPy measured in this process, and what the demo's own calls cost (metrics).
"""

from __future__ import annotations

import numpy as np

import lapack_ai as la
from lapack_ai.registry import REGISTRY


def _agree(name, args, ours, theirs) -> bool:
    flat = lambda o: [np.asarray(x) for x in (o if isinstance(o, tuple) else (o,))]
    if name in ("svd", "qr", "eigh"):  # vectors are defined up to sign
        return all(np.allclose(np.abs(a), np.abs(b), atol=1e-8) for a, b in zip(flat(ours), flat(theirs)))
    if name == "rcond":  # LAPACK's estimate lies between the exact 1-norm rcond and n times it
        exact = 1 / np.linalg.cond(args[0], 1)
        return bool(exact * (1 - 1e-12) <= ours <= exact * len(args[0]))
    return all(np.allclose(a, b, atol=1e-8) for a, b in zip(flat(ours), flat(theirs)))


def main() -> None:
    with la.measure("sections 1-4") as m:  # metrics on for these calls (not for the speed table)
        _run()
    print("\n5. What those calls cost, from lapack_ai.measure (docs/observability.md):")
    print("   " + str(m.summary).replace("\n", "\n   "))

    print("\n6. Speed against NumPy, measured now with metrics off (ratio = ours / NumPy; below 1 is faster):")
    from lapack_ai.benchmark import main as bench

    bench(["--quick"])


def _run() -> None:
    rng = np.random.default_rng(7)
    cfg = la.blas_config()
    print(f"lapack_ai {la.__version__} on {cfg['config']} ({cfg['origin']}; kernel {cfg['corename']}, "
          f"{cfg['threads']} threads)\n")

    print("1. Every routine against its NumPy/SciPy peer (6x6 float64):")
    for name, r in REGISTRY.items():
        args = r.make(rng, (6, 6), np.float64)
        ours = r.func(*args)
        theirs = r.reference(*args, **({"rcond": None} if name == "lstsq" else {}))
        peer = "1 / numpy.linalg.cond(a, 1)" if name == "rcond" else r.peer
        print(f"   {name:<9} {'agrees' if _agree(name, args, ours, theirs) else 'DIFFERS'} with {peer}")

    print("\n2. A stack of 10,000 4x4 systems in one call (threads across the stack):")
    a = rng.standard_normal((10_000, 4, 4)) + 4 * np.eye(4)
    b = rng.standard_normal((10_000, 4, 1))
    print(f"   max |lapack_ai - numpy| = {np.abs(la.solve(a, b) - np.linalg.solve(a, b)).max():.1e}")

    print("\n3. What a failure looks like: solve() on a stack whose matrix 2 is singular")
    a = np.stack([np.eye(3), 2 * np.eye(3), np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])])
    try:
        la.solve(a, np.ones((3, 3, 1)))
    except la.LinAlgError as e:
        print(f"   {type(e).__name__}: {e}")
        print(f"   fields: routine={e.routine} info={e.info} index={e.index} ({e.index_kind}) batch={e.batch}")
        print(f"   still a numpy.linalg.LinAlgError: {isinstance(e, np.linalg.LinAlgError)}")
    try:
        la.cholesky(np.array([[4.0, 2], [2, -1]]))
    except la.NotPositiveDefiniteError as e:
        print(f"   {type(e).__name__}: {e}")
    try:
        la.svd(np.array([[1.0, np.nan], [0.0, 1.0]]))
    except la.NonFiniteError as e:
        print(f"   {type(e).__name__}: {e}")

    print("\n4. diagnose() on a Vandermonde matrix (badly conditioned):")
    print("   " + str(la.diagnose(np.vander(np.linspace(0, 1, 12)))).replace("\n", "\n   "))


if __name__ == "__main__":
    main()
