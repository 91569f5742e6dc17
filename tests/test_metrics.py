"""Metrics: one record per public call with the right facts, the bounded buffer and its
totals under threads, measure() and measure_operation(), and every export."""

import csv
import io
import json
import threading
import time

import numpy as np
import pytest

import lapack_ai
from lapack_ai import MetricsCollector, config, config_context, measure
from lapack_ai.metrics import collector

@pytest.fixture
def on():
    """Metrics on for this test's thread, into an empty process collector."""
    collector().clear()
    with config_context(metrics=True):
        yield collector()
    collector().clear()


def test_off_records_nothing(rng):
    collector().clear()
    assert not config.metrics
    lapack_ai.svd(rng.standard_normal((5, 5)))
    assert len(collector()) == 0 and collector().totals() == {}


def test_one_record_per_call_with_its_facts(on, rng):
    a, b = rng.standard_normal((60, 40)), rng.standard_normal((40, 30))
    t0 = time.time()
    c = lapack_ai.gemm(a, b)
    (r,) = on.records()
    assert (r.operation, r.routine, r.shapes, r.dtype) == ("gemm", "dgemm", ((60, 40), (40, 30)), "float64")
    assert (r.backend, r.strategy) == ("cpu", "cpu") and r.reason.startswith("cpu:")
    assert r.flops == 2 * 60 * 40 * 30 and r.seconds > 0 and r.gflops == pytest.approx(r.flops / r.seconds / 1e9)
    assert r.bytes_to_device == r.bytes_from_device == 0 and r.error is None
    # Wall-clock time anchored once per process on the monotonic clock: a VM's wall clock may
    # step by milliseconds since then, so allow a second either way.
    assert r.thread == threading.current_thread().name and t0 - 1.0 <= r.timestamp <= time.time() + 1.0
    assert r.rss_delta is None or isinstance(r.rss_delta, int)
    assert r.gpu_utilization is None  # not a device call
    np.testing.assert_allclose(c, a @ b, rtol=1e-12)
    lapack_ai.svd(a.astype(np.float32), compute_uv=False)
    r = on.records()[-1]
    assert (r.operation, r.routine, r.dtype, r.size) == ("svd", "sgesdd", "float32", 60)
    assert r.flops == pytest.approx(4 * 60 * 40**2 - 4 / 3 * 40**3)


@pytest.mark.parametrize("call,routine", [
    (lambda a: lapack_ai.solve(a, a[:, :2], assume_a="pos"), "dpotrf+dpocon+dpotrs"),
    (lambda a: lapack_ai.qr(a, mode="r"), "dgeqrf"),
    (lambda a: lapack_ai.qr(a), "dgeqrf+dorgqr"),
    (lambda a: lapack_ai.svd(a, driver="gesvd"), "dgesvd"),
    (lambda a: lapack_ai.inv(a), "dgetrf+dgecon+dgetri"),
    (lambda a: lapack_ai.eigvalsh(a), "dsyevd"),
])
def test_routine_names_follow_the_arguments(on, rng, call, routine):
    g = rng.standard_normal((20, 20))
    call(g @ g.T + 20 * np.eye(20))
    (r,) = on.records()
    assert r.routine == routine and r.flops > 0


def test_nested_public_calls_record_once(on, rng):
    lapack_ai.cond(rng.standard_normal((8, 8)))  # runs svdvals inside (the core's queued path)
    lapack_ai.diagnose(rng.standard_normal((8, 8)))  # runs svdvals, rcond, ... inside
    lapack_ai.cond(rng.standard_normal((8, 8)), 2)  # a scalar argument: recorded in Python
    assert [r.operation for r in on.records()] == ["cond", "diagnose", "cond"]


def test_queued_and_immediate_records_keep_call_order(on, rng):
    """Common calls are queued in the core and built in batches; others are recorded at once.
    Either way the buffer holds them in call order, and the queue never exceeds its batch."""
    a = rng.standard_normal((12, 12))
    expected = []
    for i in range(1300):
        if i % 97 == 0:
            lapack_ai.gemm(a, a, c=np.zeros((12, 12)))  # an array keyword: recorded at once
            expected.append(("gemm", "dgemm", None))
        elif i % 101 == 0:
            lapack_ai.qr(a, mode="r")  # scalar keywords are queued, and change the routine
            expected.append(("qr", "dgeqrf", None))
        elif i % 103 == 0:
            lapack_ai.qr(a)
            expected.append(("qr", "dgeqrf+dorgqr", None))
        elif i % 211 == 0:
            with pytest.raises(lapack_ai.SingularMatrixError):
                lapack_ai.inv(np.zeros((3, 3)))  # an error on the queued path
            expected.append(("inv", "dgetrf+dgecon+dgetri", "SingularMatrixError"))
        else:
            lapack_ai.det(a)
            expected.append(("det", "dgetrf", None))
        assert lapack_ai._core.pending_calls() < 512
    got = [(r.operation, r.routine, r.error and r.error.split(":")[0]) for r in on.records()]
    assert got == expected
    stamps = [r.timestamp for r in on.records()]
    assert stamps == sorted(stamps) and all(r.seconds > 0 for r in on.records())
    flops = {r.flops for r in on.records() if r.operation == "det"}
    assert len(flops) == 1 and flops.pop() == pytest.approx(2 / 3 * 12**3)
    assert on.totals()[("det", "cpu", "ok")]["calls"] == sum(e[0] == "det" for e in expected)


def test_measure_sees_queued_calls_inside_the_block(rng):
    collector().clear()
    a = rng.standard_normal((9, 9))
    with measure("inside") as m:
        lapack_ai.det(a)
        lapack_ai.det(a)
        assert len(m.records) == 2 and lapack_ai._core.pending_calls() == 0
    assert m.summary.calls == 2 and len(collector()) == 2
    collector().clear()


def test_errors_are_recorded_and_not_credited_with_an_old_decision(on, rng):
    lapack_ai.gemm(rng.standard_normal((10, 10)), rng.standard_normal((10, 10)))
    with pytest.raises(lapack_ai.SingularMatrixError):
        lapack_ai.inv(np.zeros((3, 3)))
    with pytest.raises(lapack_ai.ShapeError):
        lapack_ai.svd(np.ones(3))  # refused in Python, before the core
    _, singular, shape = on.records()
    assert singular.error.startswith("SingularMatrixError: inv failed") and singular.backend == "cpu"
    assert singular.flops is None
    assert shape.error.startswith("ShapeError") and shape.backend is None and shape.reason is None
    assert {k[2] for k in on.totals()} == {"ok", "error"}


def test_low_level_routines_are_recorded(on, rng):
    lapack_ai.lapack.sgetrf(rng.standard_normal((6, 6)))
    (r,) = on.records()
    assert (r.operation, r.routine, r.dtype) == ("sgetrf", "sgetrf", "float32")


def test_device_calls_record_transfers(on, rng, opencl_sel):
    a, b = rng.standard_normal((33, 17)), rng.standard_normal((17, 21))
    c = lapack_ai.gemm(a, b, device=opencl_sel)
    (r,) = on.records()
    assert r.backend == "opencl" and r.routine.startswith("opencl gemm (") and r.kernel in r.routine
    assert r.bytes_to_device == a.nbytes + b.nbytes and r.bytes_from_device == c.nbytes
    np.testing.assert_allclose(c, a @ b, rtol=1e-10, atol=1e-12)
    d = lapack_ai.last_decision()  # still there for the caller, with the same facts
    assert (d.backend, d.kernel, d.bytes_to_device) == ("opencl", r.kernel, r.bytes_to_device)


def test_ring_buffer_is_bounded_and_totals_keep_counting(rng):
    col = MetricsCollector(maxlen=5)
    with col.measure_operation("loop", matrix_size=4) as m:
        for _ in range(12):
            lapack_ai.det(rng.standard_normal((4, 4)))
    assert len(col) == 5 and col.totals()[("det", "cpu", "ok")]["calls"] == 12
    assert len(m.records) == 12 and m.summary.calls == 12 and m.summary.matrix_size == 4
    assert col.records()[-1] is m.records[-1]  # the newest are kept
    collector().clear()


def test_process_buffer_follows_the_setting():
    before = collector().maxlen
    try:
        config.update(metrics_buffer=3)
        with config_context(metrics=True):
            for _ in range(5):
                lapack_ai.det(np.eye(2))
        assert collector().maxlen == 3 and len(collector()) == 3
    finally:
        config.update(metrics_buffer=before)
        collector().clear()


def test_threads_record_without_loss(rng):
    col = collector()
    col.clear()
    config.update(metrics=True)
    try:
        def work():
            for _ in range(200):
                lapack_ai.det(np.eye(3) * 2)
        ts = [threading.Thread(target=work, name=f"w{i}") for i in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    finally:
        config.update(metrics=False)
    assert col.totals()[("det", "cpu", "ok")]["calls"] == 1600
    assert len(col) == 1600 and {r.thread for r in col.records()} == {f"w{i}" for i in range(8)}
    col.clear()


def test_measure_groups_the_block_and_summarises(rng):
    collector().clear()
    outside = threading.Thread(target=lambda: [lapack_ai.det(np.eye(3)) for _ in range(20)])
    with measure("fit") as m:
        outside.start()
        a = rng.standard_normal((30, 30))
        lapack_ai.gemm(a, a)
        lapack_ai.gemm(a, a)
        with measure("inner") as inner:
            lapack_ai.svd(a)
        outside.join()
    assert not config.metrics  # measure turned metrics on for its block only
    assert [r.operation for r in m.records] == ["gemm", "gemm", "svd"] and len(inner.records) == 1
    s = m.summary
    assert s.calls == 3 and s.errors == 0 and s.by_routine[("gemm", "cpu")]["calls"] == 2
    assert s.flops == pytest.approx(2 * 2 * 30**3 + m.records[2].flops)
    assert s.wall_seconds >= s.call_seconds > 0
    assert str(s).startswith("fit: 3 calls") and "lapack-ai-summary" in s._repr_html_()
    collector().clear()


def test_legacy_measure_operation_api():
    col = MetricsCollector()
    with col.measure_operation("solve 50", matrix_size=50) as m:
        lapack_ai.solve(np.eye(50) * 3, np.ones(50))
    assert m.summary.name == "solve 50" and [r.operation for r in col.records()] == ["solve"]
    collector().clear()


@pytest.fixture
def filled(on, rng):
    lapack_ai.gemm(rng.standard_normal((8, 9)), rng.standard_normal((9, 7)))
    lapack_ai.solve(rng.standard_normal((5, 5)) + 5 * np.eye(5), rng.standard_normal((5, 2)))
    with pytest.raises(lapack_ai.SingularMatrixError):
        lapack_ai.inv(np.zeros((2, 2)))
    return on


def test_export_jsonl_and_csv(filled, tmp_path):
    lines = filled.to_jsonl().splitlines()
    recs = [json.loads(x) for x in lines]
    assert [r["operation"] for r in recs] == ["gemm", "solve", "inv"]
    assert recs[0]["shapes"] == [[8, 9], [9, 7]] and recs[0]["flops"] == 2 * 8 * 9 * 7
    filled.to_jsonl(tmp_path / "m.jsonl")
    assert (tmp_path / "m.jsonl").read_text().splitlines() == lines
    rows = list(csv.DictReader(io.StringIO(filled.to_csv())))
    assert [r["operation"] for r in rows] == ["gemm", "solve", "inv"]
    assert json.loads(rows[1]["shapes"]) == [[5, 5], [5, 2]] and rows[2]["error"].startswith("SingularMatrixError")
    with open(tmp_path / "m.csv", "w", newline="") as f:
        filled.to_csv(f)
    assert (tmp_path / "m.csv").read_text() == filled.to_csv()


def test_export_dataframe(filled):
    df = filled.to_dataframe()
    assert list(df["operation"]) == ["gemm", "solve", "inv"]
    assert df["seconds"].dtype == np.float64 and str(df["timestamp"].dt.tz) == "UTC"
    assert df.loc[0, "gflops"] > 0 and df["error"].notna().sum() == 1


def test_export_prometheus(filled):
    from prometheus_client.parser import text_string_to_metric_families

    fams = {f.name: f for f in text_string_to_metric_families(filled.to_prometheus())}
    calls = {(s.labels["operation"], s.labels["status"]): s.value for s in fams["lapack_ai_calls"].samples}
    assert calls == {("gemm", "ok"): 1, ("solve", "ok"): 1, ("inv", "error"): 1}
    flops = {s.labels["operation"]: s.value for s in fams["lapack_ai_flops"].samples}
    assert flops["gemm"] == 2 * 8 * 9 * 7
    assert fams["lapack_ai_buffered_records"].samples[0].value == 3


def test_prometheus_counters_survive_the_buffer_wrapping():
    from prometheus_client.parser import text_string_to_metric_families

    col = MetricsCollector(maxlen=2)
    with col.measure_operation("x"):
        for _ in range(5):
            lapack_ai.det(np.eye(2))
    fams = {f.name: f for f in text_string_to_metric_families(col.to_prometheus())}
    assert fams["lapack_ai_calls"].samples[0].value == 5
    collector().clear()


def test_wrapped_routines_keep_names_and_docs():
    assert lapack_ai.svd.__name__ == "svd" and "Singular value decomposition" in lapack_ai.svd.__doc__
    assert lapack_ai.lapack.dgetrf.__name__ == "dgetrf"


def test_core_works_without_the_optional_extras():
    """With pandas, prometheus-client, ipywidgets, plotly, IPython, tqdm and pynvml all
    unimportable, lapack_ai imports, records, measures and exports to JSONL/CSV; the rest say
    which extra to install."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import sys
        BLOCKED = ("pandas", "prometheus_client", "ipywidgets", "plotly", "IPython", "tqdm", "pynvml", "anywidget")
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError(f"blocked for this test: {name}")
        sys.meta_path.insert(0, Block())
        import numpy as np, lapack_ai as la
        with la.measure("m") as m:
            la.gemm(np.eye(3), np.eye(3))
        assert m.summary.calls == 1
        col = la.MetricsCollector()
        with col.measure_operation("x"):
            la.det(np.eye(2))
        assert col.to_jsonl().count("det") == 1 and col.to_csv().startswith("operation,")
        for what, fn in [("pandas", col.to_dataframe), ("prometheus-client", col.to_prometheus),
                         ("lapack-ai[jupyter]", la.dashboard)]:
            try:
                fn()
            except ImportError as e:
                assert what in str(e), e
            else:
                raise AssertionError(what)
        cmp = la.compare("det", sizes=[4], repeats=1)  # no tqdm: no bar, same data
        assert len(cmp.rows) == 2
        assert la.metrics.gpu_status() == []
        print("ok")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_a_fault_in_record_building_never_changes_a_result(on, rng, monkeypatch):
    """Records are built inside whichever call fills the queue: if building fails, that call
    still returns its own result, and the fault is reported through sys.unraisablehook."""
    import sys

    from lapack_ai.metrics import MetricsCollector

    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    monkeypatch.setattr(MetricsCollector, "extend", lambda self, records: 1 / 0)
    a = rng.standard_normal((7, 7))
    want = np.linalg.det(a)
    for _ in range(600):
        assert lapack_ai.det(a) == pytest.approx(want, rel=1e-12)
    assert seen and isinstance(seen[0].exc_value, ZeroDivisionError)


def test_like_calls_with_other_keywords_get_their_own_flop_count(on, rng):
    """Queued records reuse the flop count of the call before only when shapes, dtype, decision
    and keywords all match."""
    a = rng.standard_normal((10, 10))
    for _ in range(3):
        lapack_ai.svd(a, compute_uv=False)
        lapack_ai.svd(a)
    got = [(r.routine, r.flops) for r in on.records()]
    assert got[0][1] < got[1][1] and got == [got[0], got[1]] * 3


def test_complex_calls_are_recorded_in_their_complex_type():
    """eigh and svdvals of complex input return real values: the record still names the complex
    routine and dtype, counting a complex multiply-add as 4 real ones."""
    z = np.eye(20) + 0j
    with lapack_ai.measure("complex") as m:
        lapack_ai.eigh(z)
        lapack_ai.svdvals(z.astype(np.complex64))
        lapack_ai.eigvalsh(z, b=np.eye(20))
        lapack_ai.eigh(np.eye(20))
    (e, s, g, r) = m.records
    assert (e.routine, e.dtype) == ("zheevd", "complex128") and (s.routine, s.dtype) == ("cgesdd", "complex64")
    assert g.routine == "zhegvd" and r.routine == "dsyevd"
    assert e.flops == pytest.approx(4 * r.flops)
