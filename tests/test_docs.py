"""The README's and docs/observability.md's examples run as written."""

import re
from pathlib import Path


README = (Path(__file__).parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 2


def test_readme_starts_with_the_two_commands():
    first = re.search(r"```sh\n(.*?)```", README, re.S).group(1).split("\n")
    assert first[0].startswith("./dev demo") and first[1].startswith("./dev test")


def test_readme_examples_run(capsys):
    ns: dict = {}
    for block in BLOCKS:
        exec(compile(block, "README.md", "exec"), ns)
    out = capsys.readouterr().out
    assert "3rd pivot" in out and "dgetrf 3 3 pivot" in out and "recommendations" in out


def test_observability_examples_run(tmp_path, monkeypatch, capsys):
    doc = (Path(__file__).parents[1] / "docs" / "observability.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)  # the exports write files
    ns: dict = {}
    try:
        for block in blocks:
            exec(compile(block, "observability.md", "exec"), ns)
    finally:
        import lapack_ai

        lapack_ai.metrics.collector().clear()
    out = capsys.readouterr().out
    assert "pca fit: 2 calls" in out and 'lapack_ai_calls_total{backend="cpu",operation="solve",status="ok"} 1.0' in out
    assert (tmp_path / "calls.jsonl").read_text().count("\n") == 1 and (tmp_path / "calls.csv").exists()


def test_serve_example_runs():
    from lapack_ai.config import config

    doc = (Path(__file__).parents[1] / "docs" / "serve.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    was = config.metrics
    ns: dict = {}
    try:
        for block in blocks:
            exec(compile(block, "serve.md", "exec"), ns)
    finally:
        config.update(metrics=was)
    assert ns["srv"].url.startswith("http://127.0.0.1:") and "stopped" in repr(ns["srv"])
