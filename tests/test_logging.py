"""Rust log records reach Python's logging under the 'lapack_ai' logger (pyo3-log)."""

import logging

import numpy as np

import lapack_ai as la


def test_rust_debug_records_reach_python_logging(caplog):
    with caplog.at_level(logging.DEBUG, logger="lapack_ai"):
        la.reset_log_cache()
        la.svd(np.eye(3))
    la.reset_log_cache()
    records = [r for r in caplog.records if r.name.startswith("lapack_ai")]
    assert any("svd" in r.getMessage() and "cpu" in r.getMessage() for r in records), records


def test_silent_by_default(caplog):
    la.reset_log_cache()
    with caplog.at_level(logging.WARNING):
        la.svd(np.eye(3))
    assert not [r for r in caplog.records if r.name.startswith("lapack_ai")]
