"""The README's examples run as written."""

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
