"""The README's Python example runs as written (and its promise about fit/predict holds)."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_block(section: str) -> str:
    text = README.read_text()
    body = text[text.index(f"## {section}\n"):]
    return re.search(r"```python\n(.*?)```", body, re.S).group(1)


def test_the_in_python_example_runs():
    env: dict = {}
    exec(compile(_python_block("In Python"), "README.md", "exec"), env)  # noqa: S102 - our own README
    product, later = env["product"], env["later"]
    assert [str(m) for m in product["model"].values][-1] == "bma" and "sm_std" in product
    assert later.sizes["time"] == 30 and np.isfinite(later["sm"].values).mean() > 0.5
    assert env["ds"].subgrid_models_, "the stations should teach the fitted Downscaler a sub-grid pattern"
