"""``python -m lapack_ai.serve``: the same as ``lapack-ai serve`` (the server is in server.py;
``lapack_ai.serve`` the attribute is the function)."""

import sys

from .server import Server, main, serve  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
