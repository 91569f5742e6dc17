"""diagnose(): each field against an independent computation on constructed matrices."""

import json

import numpy as np
import pytest

import lapack_ai as la


def test_spd_matrix(rng):
    g = rng.standard_normal((6, 6))
    a = g @ g.T + 6 * np.eye(6)
    r = la.diagnose(a)
    assert r.finite and r.square and r.symmetric and r.positive_definite
    assert r.rank == 6
    assert r.norm_1 == pytest.approx(np.linalg.norm(a, 1))
    assert r.norm_2 == pytest.approx(np.linalg.norm(a, 2))
    assert r.cond_2 == pytest.approx(np.linalg.cond(a), rel=1e-8)
    exact1 = np.linalg.cond(a, 1)
    assert exact1 / 6 <= r.cond_1_estimate <= exact1 * (1 + 1e-12)
    assert any("assume_a='pos'" in s for s in r.recommendations)


def test_singular_matrix_recommends_lstsq(rng):
    a = rng.standard_normal((5, 2)) @ rng.standard_normal((2, 5))
    r = la.diagnose(a)
    assert r.rank == 2 and r.symmetric is False and r.positive_definite is None
    assert any("lstsq" in s for s in r.recommendations)


def test_symmetric_indefinite():
    r = la.diagnose(np.diag([2.0, -1.0, 3.0]))
    assert r.symmetric and r.positive_definite is False
    assert any("assume_a='sym'" in s for s in r.recommendations)


def test_scaling_spread_is_reported():
    a = np.diag([1e-4, 1.0, 1e5])
    r = la.diagnose(a)
    assert r.row_scale_spread == pytest.approx(1e9) and r.col_scale_spread == pytest.approx(1e9)
    assert any("rescale" in s for s in r.recommendations)


def test_non_finite_is_reported_not_raised():
    a = np.eye(3)
    a[0, 1], a[2, 2] = np.nan, np.inf
    r = la.diagnose(a)
    assert not r.finite and r.nan_count == 1 and r.inf_count == 1
    assert r.cond_2 is None and "Clean the data" in r.recommendations[0]


def test_rectangular_and_empty(rng):
    r = la.diagnose(rng.standard_normal((7, 3)))
    assert not r.square and r.rank == 3 and r.symmetric is None and r.cond_1_estimate is None
    assert la.diagnose(np.zeros((0, 3))).recommendations == ["The matrix is empty."]


def test_formats():
    r = la.diagnose(np.vander(np.linspace(0, 1, 10)))
    text = str(r)
    assert "condition (2-norm, exact)" in text and "recommendations:" in text
    d = r.to_dict()
    assert json.loads(r.to_json()) == d and d["shape"] == [10, 10]
    html = r._repr_html_()
    assert "<table>" in html and "lapack_ai.diagnose" in html


def test_stacks_refused():
    with pytest.raises(la.ShapeError, match="single 2-D"):
        la.diagnose(np.zeros((2, 3, 3)))


def test_complex_hermitian_and_symmetric_are_told_apart():
    g = np.random.default_rng(4).standard_normal((5, 5)) + 1j * np.random.default_rng(5).standard_normal((5, 5))
    h = la.diagnose(g @ g.conj().T + np.eye(5))
    assert h.hermitian and not h.symmetric and h.positive_definite
    assert any("assume_a='pos'" in r for r in h.recommendations)
    s = la.diagnose(g + g.T)
    assert s.symmetric and not s.hermitian and s.positive_definite is None
    assert any("assume_a='sym'" in r for r in s.recommendations)
    indefinite = la.diagnose(np.diag([1.0, -1.0]).astype(complex))
    assert indefinite.hermitian and indefinite.positive_definite is False
    assert any("assume_a='her'" in r for r in indefinite.recommendations)
