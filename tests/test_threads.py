"""Concurrency: many Python threads calling at once get correct results, and the GIL is
released while LAPACK runs."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import lapack_ai as la

from conftest import close


def test_concurrent_calls_are_correct():
    rng = np.random.default_rng(1)
    mats = [rng.standard_normal((40, 40)) + 10 * np.eye(40) for _ in range(24)]
    stacks = [rng.standard_normal((50, 6, 6)) + 6 * np.eye(6) for _ in range(8)]

    def work(i):
        a = mats[i % len(mats)]
        x = la.solve(a, np.ones(40))
        s = la.svdvals(a)
        inv = la.inv(stacks[i % len(stacks)])
        return i, x, s, inv

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(work, range(64)))
    for i, x, s, inv in results:
        a = mats[i % len(mats)]
        close(x, np.linalg.solve(a, np.ones(40)), np.float64, 40)
        close(s, np.linalg.svd(a, compute_uv=False), np.float64, 40)
        close(inv, np.linalg.inv(stacks[i % len(stacks)]), np.float64, 6)


def test_gil_released_during_lapack():
    a = np.random.default_rng(2).standard_normal((700, 700))
    started, done = threading.Event(), threading.Event()

    def worker():
        started.set()
        la.svd(a)
        done.set()

    t = threading.Thread(target=worker)
    t.start()
    started.wait()
    gaps, last = [], time.perf_counter()
    t0 = last
    while not done.is_set():
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    t.join()
    elapsed = last - t0
    # If the GIL were held for the SVD, this loop would stall for (almost) all of it.
    assert elapsed > 0.05, "SVD too fast to tell"
    assert max(gaps) < 0.5 * elapsed, f"main thread stalled {max(gaps):.3f}s of {elapsed:.3f}s"
    assert len(gaps) > 1000
