"""``diagnose(a)``: a plain-language report on a matrix before (or after) a call fails."""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field

import numpy as np

from ._arrays import as_float
from .errors import ShapeError
from .metrics import instrument


@dataclass
class Report:
    shape: tuple[int, ...]
    dtype: str
    finite: bool
    nan_count: int
    inf_count: int
    square: bool
    symmetric: bool | None
    positive_definite: bool | None
    norm_1: float | None
    norm_2: float | None
    cond_1_estimate: float | None
    cond_2: float | None
    rank: int | None
    row_scale_spread: float | None
    col_scale_spread: float | None
    recommendations: list[str] = field(default_factory=list)
    hermitian: bool | None = None
    """a == a^H (the same as ``symmetric`` for real input); ``positive_definite`` is tested
    only for Hermitian matrices."""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["shape"] = list(self.shape)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def _lines(self) -> list[tuple[str, str]]:
        f = lambda v: "n/a" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))
        return [
            ("shape", f"{self.shape} {self.dtype}"),
            ("finite", "yes" if self.finite else f"no ({self.nan_count} NaN, {self.inf_count} Inf)"),
            ("square", f(self.square)), ("symmetric", f(self.symmetric)),
            *([("Hermitian", f(self.hermitian))] if "complex" in self.dtype else []),
            ("positive definite", f(self.positive_definite)),
            ("1-norm / 2-norm", f"{f(self.norm_1)} / {f(self.norm_2)}"),
            ("condition (1-norm estimate)", f(self.cond_1_estimate)),
            ("condition (2-norm, exact)", f(self.cond_2)),
            ("numerical rank", f(self.rank)),
            ("row / column scale spread", f"{f(self.row_scale_spread)} / {f(self.col_scale_spread)}"),
        ]

    def __str__(self) -> str:
        w = max(len(k) for k, _ in self._lines())
        body = "\n".join(f"  {k:<{w}}  {v}" for k, v in self._lines())
        recs = "\n".join(f"  - {r}" for r in self.recommendations) or "  - nothing to worry about"
        return f"lapack_ai.diagnose\n{body}\nrecommendations:\n{recs}"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
                       f"<td>{html.escape(v)}</td></tr>" for k, v in self._lines())
        recs = "".join(f"<li>{html.escape(r)}</li>" for r in self.recommendations) or "<li>nothing to worry about</li>"
        return (f"<div class='lapack-ai-diagnose'><b>lapack_ai.diagnose</b><table>{rows}</table>"
                f"<b>Recommendations</b><ul>{recs}</ul></div>")


def diagnose(a, *, exact_limit: int = 2000) -> Report:
    """Inspect a 2-D matrix: finiteness, symmetry, definiteness, norms, condition numbers
    (LAPACK's 1-norm estimate, and the exact 2-norm one from singular values when
    ``min(shape) <= exact_limit``), numerical rank, spread of row and column scales, and
    recommendations in plain words. Never raises for a numerical reason."""
    from . import linalg

    a = as_float(a, "diagnose", "a")
    if a.ndim != 2:
        raise ShapeError("diagnose", "a", f"must be a single 2-D matrix, got shape {a.shape}")
    m, n = a.shape
    eps = float(np.finfo(a.dtype).eps)
    nan, inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
    finite = nan == 0 and inf == 0
    sq = m == n
    recs: list[str] = []
    r = Report(shape=a.shape, dtype=str(a.dtype), finite=finite, nan_count=nan, inf_count=inf,
               square=sq, symmetric=None, positive_definite=None, norm_1=None, norm_2=None,
               cond_1_estimate=None, cond_2=None, rank=None, row_scale_spread=None,
               col_scale_spread=None, recommendations=recs)
    if not finite:
        recs.append(f"The matrix holds {nan} NaN and {inf} Inf values: every LAPACK routine will "
                    "refuse it (or return garbage with check_finite=False). Clean the data first.")
        return r
    if a.size == 0:
        recs.append("The matrix is empty.")
        return r
    r.norm_1 = float(np.abs(a).sum(axis=0).max())
    rows, cols = np.linalg.norm(a, axis=1), np.linalg.norm(a, axis=0)
    spread = lambda v: float(v.max() / v.min()) if v.min() > 0 else float("inf")
    r.row_scale_spread, r.col_scale_spread = spread(rows), spread(cols)
    if min(m, n) <= exact_limit:
        s = linalg.svdvals(a, check_finite=False)
        r.norm_2 = float(s[0])
        tol = s[0] * max(m, n) * eps
        r.rank = int((s > tol).sum())
        r.cond_2 = float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
    if sq:
        r.symmetric = bool(np.allclose(a, a.T, rtol=100 * eps, atol=100 * eps * r.norm_1))
        r.hermitian = r.symmetric if a.dtype.kind != "c" else bool(
            np.allclose(a, a.conj().T, rtol=100 * eps, atol=100 * eps * r.norm_1))
        rc = float(linalg.rcond(a, check_finite=False))
        r.cond_1_estimate = 1.0 / rc if rc > 0 else float("inf")
        if r.hermitian:
            try:
                linalg.cholesky(a, check_finite=False)
                r.positive_definite = True
            except np.linalg.LinAlgError:
                r.positive_definite = False
    cond = r.cond_2 if r.cond_2 is not None else r.cond_1_estimate
    if r.rank is not None and r.rank < min(m, n):
        recs.append(f"Numerical rank {r.rank} < {min(m, n)}: the matrix is (close to) singular. "
                    "solve/inv will fail or be meaningless; use lstsq for a minimum-norm answer.")
    elif cond is not None and cond > 1 / eps:
        recs.append(f"Condition number {cond:.2g} exceeds 1/eps ({1 / eps:.2g}): results may have no "
                    "correct digits. Use lstsq, regularise, or work in float64.")
    elif cond is not None and cond > 1e4:
        digits = int(-np.log10(eps))
        recs.append(f"Condition number {cond:.2g}: expect to lose about {int(np.log10(cond))} of "
                    f"the ~{digits} significant digits of {a.dtype} in solve/inv results.")
    if max(r.row_scale_spread, r.col_scale_spread) > 1e6:
        recs.append("Rows or columns differ in scale by more than 1e6: rescale them (equilibrate) "
                    "before solving; the condition number may be mostly scaling.")
    kind, letters = ("Hermitian", "her") if a.dtype.kind == "c" else ("Symmetric", "sym")
    if r.hermitian and r.positive_definite:
        recs.append(f"{kind} positive definite: solve(a, b, assume_a='pos') (Cholesky) is about "
                    "twice as fast as the general solver.")
    elif r.hermitian and r.positive_definite is False:
        recs.append(f"{kind} but not positive definite: use assume_a='{letters}', not 'pos'.")
    elif r.symmetric:  # complex symmetric, not Hermitian
        recs.append("Complex symmetric (a == a.T, not a^H): solve(a, b, assume_a='sym') uses that.")
    return r


# A public call: recorded as "diagnose", and the routines it runs inside are not recorded.
diagnose = instrument(diagnose, "diagnose")
