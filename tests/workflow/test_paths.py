"""A notebook opened in JupyterLab (working folder notebooks/) writes where `make reproduce` does."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_resolve_against_the_project_not_the_working_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SMKIT_CACHE"}
    code = "from smkit.workflow.cache import DEFAULT_CACHE; print(DEFAULT_CACHE)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "notebooks", env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert Path(out[-1]) == ROOT / ".smkit-cache"
    env["SMKIT_CACHE"] = str(tmp_path / "elsewhere")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "notebooks", env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert Path(out[-1]) == tmp_path / "elsewhere"


def test_a_report_without_a_folder_goes_to_the_projects_reports(monkeypatch, tmp_path):
    from smkit.workflow import cache, report

    monkeypatch.setattr(cache, "PROJECT_ROOT", tmp_path)
    r = report.Report(None, "00_x", "x")
    assert r.out == tmp_path / "reports" / "notebooks" and (r.out / "figures").is_dir()
