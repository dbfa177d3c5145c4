"""Progress bars and warnings go to the batch run's log (SMKIT_LOG), not into a notebook's output."""

import os
import subprocess
import sys


def test_a_batch_run_logs_progress_and_warnings_instead_of_printing_them(tmp_path):
    log = tmp_path / "logs" / "nb.log"
    code = (
        "import warnings, smkit\n"
        "from smkit.core.progress import progress_bar, dask_progress\n"
        "import dask.array as da\n"
        "for _ in progress_bar(range(5), desc='counting'): pass\n"
        "with dask_progress('summing'): da.ones(10, chunks=2).sum().compute()\n"
        "warnings.warn('a warning the notebook should not show', UserWarning)\n"
        "import logging; logging.getLogger('somelib').warning('a library speaking up')\n"
        "import pymc\n"
    )
    env = {**os.environ, "SMKIT_LOG": str(log)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout == "" and done.stderr == ""
    text = log.read_text()
    assert "counting" in text and "summing" in text and "a warning the notebook should not show" in text
    assert "a library speaking up" in text


def test_without_the_log_bars_and_warnings_show_as_usual():
    code = (
        "import warnings, smkit\n"
        "from smkit.core.progress import progress_bar\n"
        "for _ in progress_bar(range(5), desc='counting'): pass\n"
        "warnings.warn('shown', UserWarning)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SMKIT_LOG"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "counting" in done.stderr and "shown" in done.stderr and done.stdout == ""
