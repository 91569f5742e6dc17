"""The web service behind ``lapack-ai serve`` (``pip install 'lapack-ai[serve]'``).

``app.py`` holds the Starlette routes, ``health.py`` the start-up self-check the probes read,
``jobs.py`` the comparison queue, ``views.py`` the JSON the pages and the API show (shared with
the Jupyter dashboard), and ``static/`` the pages and scripts, served from the package so
nothing is fetched from the internet. ``lapack_ai/serve.py`` runs it under uvicorn.
"""
