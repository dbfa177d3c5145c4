"""Figures of the explanatory factors: importance and correlation per covariate (Figs. 3 and S2).

The importances come from :func:`smkit.analysis.importance.factor_importance`;
each function returns a matplotlib Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from smkit.analysis.importance import summarise

__all__ = ["figure_importance", "figure_learners"]


def figure_importance(importance: pd.DataFrame, learner: str = "rf"):
    """Bars of importance (permutation, SHAP; mean ± sd over slices) and dots of Pearson r (Fig. 3)."""
    s = summarise(importance).loc[learner]
    order = s["permutation_mean"].sort_values(ascending=False).index
    s = s.loc[order]
    x = np.arange(len(s))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
    w = 0.38
    ax.bar(x - w / 2, s["permutation_mean"], w, yerr=s["permutation_std"], capsize=3,
           label="permutation (R² drop)", color="tab:blue")
    if s["shap_mean"].notna().any():
        ax.bar(x + w / 2, s["shap_mean"], w, yerr=s["shap_std"], capsize=3, label="mean |SHAP|",
               color="tab:green")
    ax.set_xticks(x, order)
    ax.set_ylabel("share of importance [1]")
    ax.set_title(f"(a) importance for coarse soil moisture, {learner.upper()}")
    ax.legend()
    colours = ["tab:red" if v < 0 else "tab:blue" for v in s["r_mean"]]
    bx.errorbar(s["r_mean"], x, xerr=s["r_std"], fmt="none", ecolor="grey", capsize=3)
    bx.scatter(s["r_mean"], x, c=colours, s=60, zorder=3)
    bx.axvline(0, color="k", lw=0.8)
    bx.set_yticks(x, order)
    bx.invert_yaxis()
    bx.set_xlim(-1, 1)
    bx.set_xlabel("Pearson r with coarse soil moisture")
    bx.set_title("(b) correlation (mean ± sd over slices)")
    fig.tight_layout()
    return fig


def figure_learners(importance: pd.DataFrame, measure: str = "permutation"):
    """Importance of each covariate for every learner side by side (Fig. S2)."""
    s = summarise(importance)
    learners = list(dict.fromkeys(importance["learner"]))
    covs = list(dict.fromkeys(importance["covariate"]))
    x = np.arange(len(covs))
    w = 0.8 / len(learners)
    fig, ax = plt.subplots(figsize=(9, 4))
    for i, name in enumerate(learners):
        m = s.loc[name].reindex(covs)
        ax.bar(x + (i - (len(learners) - 1) / 2) * w, m[f"{measure}_mean"], w,
               yerr=m[f"{measure}_std"], capsize=2, label=name.upper())
    ax.set_xticks(x, covs)
    ax.set_ylabel(f"{measure} importance, share [1]")
    ax.set_title(f"{measure.capitalize()} importance by learner (mean ± sd over slices)")
    ax.legend()
    fig.tight_layout()
    return fig
