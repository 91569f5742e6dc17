"""The release wheel (`maturin build --release --zig --compatibility manylinux_2_28`) holds no
native library but lapack_ai's own, runs on glibc 2.28 and newer (Ubuntu 22.04+, Debian 12+),
and works in a fresh virtualenv with nothing else installed but its declared dependencies
(NumPy, and scipy-openblas64 for the OpenBLAS it binds at run time)."""

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _env(target: str) -> dict:
    # maturin runs zig (pip's ziglang, which ./dev installs) from the venv: put it on PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return dict(os.environ, CARGO_TARGET_DIR=str(ROOT / "target" / target), PATH=path)


def _glibc_versions(so: bytes) -> set[tuple[int, ...]]:
    return {tuple(int(x) for x in m.split(b".")) for m in re.findall(rb"GLIBC_(\d+\.\d+(?:\.\d+)?)", so)}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_release_wheel_is_manylinux_2_28_and_runs_in_fresh_venv(tmp_path):
    maturin = Path(sys.executable).parent / "maturin"
    dist = tmp_path / "dist"
    subprocess.run([str(maturin), "build", "--release", "--quiet", "--zig", "--compatibility", "manylinux_2_28",
                    "-o", str(dist)], cwd=ROOT, check=True, env=_env("wheel"))
    (whl,) = dist.glob("lapack_ai-*.whl")
    assert "abi3" in whl.name and "manylinux_2_28" in whl.name, whl.name  # one wheel for every CPython >= 3.10
    z = zipfile.ZipFile(whl)
    names = z.namelist()
    assert "lapack_ai/_core.abi3.so" in names and "lapack_ai/errors.py" in names
    for page in ("index.html", "compare.html", "chart.js", "dashboard.js", "compare.js", "style.css"):
        assert f"lapack_ai/web/static/{page}" in names  # the service's pages ship in the wheel
    assert not [n for n in names if ".libs/" in n], names  # no bundled BLAS: it comes from scipy-openblas64
    assert max(_glibc_versions(z.read("lapack_ai/_core.abi3.so"))) <= (2, 28)
    meta = z.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: scipy-openblas64" in meta
    assert "lapack_ai.cli:main" in z.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(whl)], check=True, timeout=600)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "PYTHONPATH", "LAPACK_AI_OPENBLAS")}
    code = (
        "import numpy as np, lapack_ai as la\n"
        "a = np.random.default_rng(0).standard_normal((50, 40))\n"
        "u, s, vt = la.svd(a, full_matrices=False)\n"
        "assert np.allclose((u * s) @ vt, a)\n"
        "cfg = la.blas_config(); assert cfg['config'].startswith('OpenBLAS') and 'USE64BITINT' in cfg['config'], cfg\n"
        "print(la.__file__, cfg['origin'], cfg['version'])\n"
    )
    for wish, origin in ((None, None), ("package", "scipy-openblas64 package")):
        e = dict(env, **({"LAPACK_AI_OPENBLAS": wish} if wish else {}))
        out = subprocess.run([str(py), "-c", code], cwd=tmp_path, env=e, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert str(venv) in out.stdout  # imported from the fresh venv, not the source tree
        if origin:
            assert origin in out.stdout, out.stdout


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_pip_install_from_source(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(ROOT)], check=True, env=_env("wheel-pip"), timeout=800)
    out = subprocess.run([str(py), "-c", "import numpy as np, lapack_ai as la; print(la.det(np.eye(3) * 2), la.__file__)"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    value, path = out.stdout.split()
    assert abs(float(value) - 8.0) < 1e-12 and str(venv) in path
