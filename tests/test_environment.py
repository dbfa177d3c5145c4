"""pyproject.toml and environment.yml must list the same dependencies."""

import re
import subprocess
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# pip name -> conda-forge name where they differ
CONDA_NAMES = {}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", req)
    name, spec = m.group(1).lower().replace("_", "-"), m.group(3).replace(" ", "")
    return CONDA_NAMES.get(name, name), spec


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_split(d) for d in env["dependencies"] if isinstance(d, str) and d != "pip")
    py = conda.pop("python")
    # Binder's repo2docker only understands a pin python=X.Y; it must satisfy requires-python
    pinned = re.fullmatch(r"=(\d+)\.(\d+)", py)
    lowest = tuple(int(x) for x in project["requires-python"].lstrip(">=").split("."))
    assert pinned and tuple(map(int, pinned.groups())) >= lowest, py
    missing = sorted(set(pip) - set(conda))
    extra = sorted(set(conda) - set(pip))
    assert not missing, f"in pyproject.toml but not environment.yml: {missing}"
    assert not extra, f"in environment.yml but not pyproject.toml: {extra}"
    differ = {k: (pip[k], conda[k]) for k in pip if pip[k] != conda[k]}
    assert not differ, f"version bounds differ (pyproject, environment.yml): {differ}"


def test_binder_environment_is_the_runtime_without_test_packages():
    """Binder gets what the notebooks and the explorer need, and no test-only package."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = dict(_split(r) for r in project["dependencies"])
    test_only = {_split(r)[0] for r in project["optional-dependencies"]["test"]}
    path = ROOT / "binder" / "environment.yml"
    assert not path.is_symlink(), "binder/environment.yml must be its own file (no test packages)"
    env = yaml.safe_load(path.read_text())
    conda = dict(_split(d) for d in env["dependencies"] if isinstance(d, str) and d != "pip")
    top = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert conda.pop("python") == dict(_split(d) for d in top["dependencies"] if d != "pip")["python"]
    assert not set(conda) & test_only, f"test-only packages on Binder: {sorted(set(conda) & test_only)}"
    assert conda == runtime, {k: (runtime.get(k), conda.get(k)) for k in set(runtime) | set(conda)
                              if runtime.get(k) != conda.get(k)}
    assert env["channels"] == top["channels"]


def test_binder_opens_every_notebook_as_a_notebook():
    """postBuild converts every jupytext notebook, not only the explorer's."""
    post = (ROOT / "binder" / "postBuild").read_text()
    assert re.search(r"jupytext .*--to ipynb notebooks/\*\.py", post), post


def test_makefile_fails_clearly_without_python312(tmp_path):
    res = subprocess.run(
        ["make", "-C", str(ROOT), "venv", "CANDIDATES=false", f"VENV={tmp_path}/venv"],
        capture_output=True, text=True,
    )
    assert res.returncode != 0
    assert "needs Python >= 3.12" in res.stdout + res.stderr


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci
    assert "make test" in readme and "make reproduce" in readme
