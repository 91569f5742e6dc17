"""`maturin build --release` makes a wheel that bundles OpenBLAS and works in a fresh
virtualenv with nothing else installed but its declared dependency (NumPy)."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_wheel_bundles_openblas_and_runs_in_fresh_venv(tmp_path):
    maturin = Path(sys.executable).parent / "maturin"
    dist = tmp_path / "dist"
    # Own target dir: auditwheel's repair patches the built library in place, which must not
    # touch the in-tree development build.
    env = dict(os.environ, CARGO_TARGET_DIR=str(ROOT / "target" / "wheel"))
    subprocess.run([str(maturin), "build", "--release", "--quiet", "-o", str(dist)],
                   cwd=ROOT, check=True, env=env)
    (whl,) = dist.glob("lapack_ai-*.whl")
    assert "abi3" in whl.name  # one wheel for every CPython >= 3.10
    names = zipfile.ZipFile(whl).namelist()
    assert any(n.startswith("lapack_ai.libs/libopenblas") for n in names), names
    assert "lapack_ai/_core.abi3.so" in names and "lapack_ai/errors.py" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(whl)], check=True, timeout=600)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "PYTHONPATH")}
    code = (
        "import numpy as np, lapack_ai as la\n"
        "a = np.random.default_rng(0).standard_normal((50, 40))\n"
        "u, s, vt = la.svd(a, full_matrices=False)\n"
        "assert np.allclose((u * s) @ vt, a)\n"
        "cfg = la.blas_config(); assert cfg['config'].startswith('OpenBLAS'), cfg\n"
        "print('ok', la.__file__, cfg['corename'])\n"
    )
    out = subprocess.run([str(py), "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert str(venv) in out.stdout  # imported from the fresh venv, not the source tree
