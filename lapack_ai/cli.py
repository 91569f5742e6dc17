"""The ``lapack-ai`` command: ``lapack-ai serve`` (the web dashboard, see lapack_ai/serve.py),
``lapack-ai demo`` and ``lapack-ai devices``."""

from __future__ import annotations

import sys

_USAGE = """usage: lapack-ai <command> [options]

commands:
  serve     the web dashboard, health probes and Prometheus metrics (lapack-ai serve --help)
  demo      routines, an error report and a speed table against NumPy
  devices   the CPU's BLAS and the OpenCL devices this process sees
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    cmd, rest = (args[0], args[1:]) if args else (None, [])
    if cmd == "serve":
        from .serve import main as serve_main

        return serve_main(rest)
    if cmd == "demo":
        from .demo import main as demo_main

        return demo_main() or 0
    if cmd == "devices":
        import lapack_ai

        print(lapack_ai.devices())
        return 0
    print(_USAGE, end="", file=sys.stdout if cmd in ("-h", "--help") else sys.stderr)
    return 0 if cmd in ("-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main())
