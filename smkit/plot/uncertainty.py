"""Figures of the uncertainty analyses: leave one covariate out (Fig. 12a), fewer pairs (Fig. 12b).

The tables come from :mod:`smkit.workflow.uncertainty` (scored by
:mod:`smkit.analysis.uncertainty`); each function returns a matplotlib Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from smkit.analysis.uncertainty import summarise_reduction

__all__ = ["figure_leave_one_out", "figure_sample_reduction"]


def figure_leave_one_out(table: pd.DataFrame, metrics=("r", "rmse", "mae")):
    """Bars of each score per network for all covariates and without each (Fig. 12a)."""
    cases = list(dict.fromkeys(table.index.get_level_values("case")))
    nets = list(dict.fromkeys(table.index.get_level_values("network")))
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.8), squeeze=False)
    w = 0.8 / len(cases)
    x = np.arange(len(nets))
    for ax, m in zip(axes[0], metrics, strict=True):
        for k, case in enumerate(cases):
            vals = [table.loc[(case, n), m] if (case, n) in table.index else np.nan for n in nets]
            ax.bar(x + (k - (len(cases) - 1) / 2) * w, vals, w, label=case,
                   color="k" if case == "all" else f"C{k}")
        ax.set_xticks(x, nets)
        ax.set_ylabel(m.upper() + (" [1]" if m == "r" else " [m3 m-3]"))
        ax.set_title(m.upper())
    # one legend below the panels, never over a bar
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(cases), 6), fontsize=8, frameon=False,
               title="covariates", title_fontsize=8, bbox_to_anchor=(0.5, 0.0))
    fig.suptitle("BMA against the stations, validation years: all covariates and without each")
    rows = -(-len(cases) // 6)
    fig.tight_layout(rect=(0, 0.07 + 0.05 * rows, 1, 1))
    return fig


def figure_sample_reduction(table: pd.DataFrame, metrics=("r", "rmse")):
    """Scores against the share of pairs removed, mean ± sd over repeats, per network (Fig. 12b)."""
    s = summarise_reduction(table)
    nets = list(dict.fromkeys(s.index.get_level_values("network")))
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.8), squeeze=False)
    for ax, m in zip(axes[0], metrics, strict=True):
        for k, net in enumerate(nets):
            sub = s.xs(net, level="network")
            x = 100 * sub.index.to_numpy(dtype=float)
            ax.errorbar(x, sub[f"{m}_mean"], yerr=sub[f"{m}_std"].fillna(0), marker="o", capsize=3,
                        label=net, color=f"C{k}")
        ax.set_xlabel("training pairs removed [%]")
        ax.set_ylabel(m.upper() + (" [1]" if m == "r" else " [m3 m-3]"))
        ax.set_title(f"BMA {m.upper()} vs the stations")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
