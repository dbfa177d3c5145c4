"""Figures of the experiments behind the paper's choices: window caps and strategies (Fig. S7).

The tables come from :mod:`smkit.analysis.experiments`; each function
returns a matplotlib Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["figure_sensitivity", "figure_strategies"]


def figure_sensitivity(table: pd.DataFrame, metrics=("r", "ubrmse", "complete")):
    """Heat maps of the sensitivity grid, one panel per metric, the best cell marked."""
    labels = {"r": "R vs truth", "ubrmse": "ubRMSE vs truth [m3 m-3]", "r_anomaly": "sub-grid R",
              "complete": "share of full windows", "mean_count": "samples per window"}
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.8), squeeze=False)
    for ax, m in zip(axes[0], metrics, strict=True):
        grid = table[m].unstack("nd_max")
        im = ax.imshow(grid.values, origin="lower", aspect="auto",
                       cmap="viridis_r" if m == "ubrmse" else "viridis")
        ax.set_xticks(range(grid.shape[1]), grid.columns)
        ax.set_yticks(range(grid.shape[0]), grid.index)
        ax.set_xlabel("nd_max [days]")
        ax.set_ylabel("sw_max [cells]")
        best = np.nanargmin(grid.values) if m == "ubrmse" else np.nanargmax(grid.values)
        bi, bj = np.unravel_index(best, grid.shape)
        ax.plot(bj, bi, "r*", ms=12)
        ax.set_title(labels.get(m, m))
        fig.colorbar(im, ax=ax)
    fig.suptitle("Window caps: sensitivity (★ best)")
    fig.tight_layout()
    return fig


def figure_strategies(table: pd.DataFrame):
    """Relative bias by quantile, window versus global, one line pair per method (Fig. S7)."""
    methods = list(dict.fromkeys(table.index.get_level_values(0)))
    cols = [c for c in table.columns if c != "all"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, m in enumerate(methods):
        colour = f"C{k}"
        ax.plot(cols, 100 * table.loc[(m, "window"), cols].astype(float), "-o", color=colour,
                label=f"{m.upper()} window")
        ax.plot(cols, 100 * table.loc[(m, "global"), cols].astype(float), "--s", color=colour,
                label=f"{m.upper()} global", alpha=0.7)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("quantile of the reference soil moisture")
    ax.set_ylabel("relative bias [%]")
    ax.set_title("Relative bias by quantile: adaptive windows vs. global model")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig
