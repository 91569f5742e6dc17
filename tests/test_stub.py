"""The type stub of the native module lists every function it has (and no others)."""

import re
from pathlib import Path

import lapack_ai._core as core

STUB = (Path(__file__).resolve().parents[1] / "lapack_ai" / "_core.pyi").read_text()


def test_stub_matches_the_module():
    native = {n for n in dir(core) if not n.startswith("_") and callable(getattr(core, n))} - {"CoreError"}
    stubbed = set(re.findall(r"^def (\w+)\(", STUB, re.M))
    assert native == stubbed, {"missing from the stub": native - stubbed, "not in the module": stubbed - native}
