"""What each section's numbers show, in a few computed sentences.

Every notebook ends with ``report.text(statements.<section>(...))``: one
public function per section takes the tables the notebook already computed
and returns a short Markdown paragraph saying plainly where the product (BMA)
wins and where it does not, against the baselines the section has (the coarse
retrieval CCI, its nearest and bilinear interpolations, the model fields, the
single learners). Numbers and verdicts are read from the tables, never
written in: with a paired 90 % interval a difference "beats" only when the
interval excludes zero, "does not beat" when it lies wholly on the other
side, and "ties within the interval" otherwise; two scores with their own
intervals tie when the intervals overlap; without intervals the larger
score wins.

Scores: R and its variants are dimensionless; ubRMSE, RMSE, MAE and bias are
in m3 m-3; relative quantities in per cent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "study_area",
    "explanatory_factors",
    "windowed_downscaling",
    "bma_diagnostics",
    "insitu_validation",
    "model_intercomparison",
    "drought",
    "leave_one_out",
    "sample_reduction",
    "merits",
]

#: Verdict words, shared by every section.
BEATS, LOSES, TIES = "beats", "does not beat", "ties within the interval with"
#: Without an interval, differences smaller than this (half the last of three decimals shown) are ties.
TOLERANCE = 5e-4


def _ok(*values) -> bool:
    return all(v is not None and np.isfinite(float(v)) for v in values)


def _fmt(a: float, b: float | None = None, digits: int = 2) -> tuple[str, str] | str:
    """Format one value, or two with enough digits that different values read differently."""
    if b is None:
        return f"{a:.{digits}f}" if _ok(a) else "n/a"
    sa, sb = f"{a:.{digits}f}", f"{b:.{digits}f}"
    if sa == sb:
        sa, sb = f"{a:.{digits + 1}f}", f"{b:.{digits + 1}f}"
    return sa, sb


def _word(diff: float, lo: float | None = None, hi: float | None = None, higher_better: bool = True) -> str:
    """Beats / does not beat / ties from a difference (``product - baseline``) and its interval."""
    if not higher_better:
        diff, lo, hi = -diff, (None if hi is None else -hi), (None if lo is None else -lo)
    if _ok(lo, hi):
        return BEATS if lo > 0 else LOSES if hi < 0 else TIES
    if abs(diff) < TOLERANCE:
        return "ties with"
    return BEATS if diff > 0 else LOSES


def _overlap_word(a, a_lo, a_hi, b, b_lo, b_hi, higher_better: bool = True) -> str:
    """Verdict from two scores each with its own interval: a tie when the intervals overlap."""
    if _ok(a_lo, a_hi, b_lo, b_hi) and a_lo <= b_hi and b_lo <= a_hi:
        return TIES
    return _word(a - b, higher_better=higher_better)


def _interval(row, col: str, digits: int = 2) -> str:
    lo, hi = row.get(f"{col}_lo"), row.get(f"{col}_hi")
    return f" (90 % interval {lo:.{digits}f}-{hi:.{digits}f})" if _ok(lo, hi) else ""


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def study_area(stations: pd.DataFrame, checks: pd.DataFrame | None = None) -> str:
    """Section 00: the stations per network and how many realism checks pass.

    Parameters
    ----------
    stations : pandas.DataFrame
        :func:`smkit.workflow.study.stations_table`: one row per station with a ``network`` column.
    checks : pandas.DataFrame, optional
        :func:`smkit.workflow.study.realism_table`'s checks: index the statistic, columns
        ``value``, ``target`` and ``in range`` (True / False, empty where there is no target).
        None for a scenario without a truth.

    Returns
    -------
    str
        Markdown.

    Examples
    --------
    >>> st = pd.DataFrame({"network": ["CERN", "QXZ", "QXZ"]})
    >>> checks = pd.DataFrame({"value": [0.04, 0.95], "target": ["0.035 to 0.06", "<= 0.92"],
    ...                        "in range": [True, False]}, index=["error s.d.", "R(station, pixel)"])
    >>> print(study_area(st, checks))
    **What this section shows.** 3 stations in 2 networks (CERN 1, QXZ 2). The synthetic world is within the published range on 1 of 2 checked statistics; outside it: R(station, pixel) (0.95, published <= 0.92).
    """
    counts = stations["network"].value_counts(sort=False) if "network" in stations else pd.Series(dtype=int)
    out = [f"{len(stations)} stations in {counts.size} networks ("
           + ", ".join(f"{n} {int(c)}" for n, c in counts.items()) + ")."]
    if checks is None or checks.empty:
        out.append("There is no truth in this scenario, so its realism is not checked against published statistics.")
    else:
        flag = checks["in range"]
        tested = flag[flag.isin([True, False])]
        bad = [k for k, ok in tested.items() if ok is False or ok is np.False_]
        out.append(f"The synthetic world is within the published range on {len(tested) - len(bad)} of "
                   f"{len(tested)} checked statistics"
                   + ("." if not bad else "; outside it: " + "; ".join(
                       f"{k} ({float(checks.loc[k, 'value']):.2f}, published {checks.loc[k, 'target']})"
                       for k in bad) + "."))
    return "**What this section shows.** " + " ".join(out)


def explanatory_factors(summary: pd.DataFrame, learner: str = "rf") -> str:
    """Section 01: the covariates ranked by permutation importance, and whether the learners agree.

    Parameters
    ----------
    summary : pandas.DataFrame
        :func:`smkit.analysis.importance.summarise`: index (learner, covariate), columns
        ``permutation_mean``, ``permutation_std`` (share of the importance, 1) and ``r_mean`` (Pearson r, 1).
    learner : str
        Learner whose ranking is spelt out (the paper's Fig. 3: the random forest).

    Returns
    -------
    str
        Markdown.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([["rf", "mlr"], ["lst", "ndvi"]], names=["learner", "covariate"])
    >>> s = pd.DataFrame({"permutation_mean": [0.6, 0.2, 0.5, 0.45], "permutation_std": [0.05, 0.02, 0.1, 0.1],
    ...                   "r_mean": [-0.4, 0.3, -0.4, 0.3]}, index=idx)
    >>> print(explanatory_factors(s))
    **What this section shows.** For RF the most important factor is LST (permutation importance 0.60 ± 0.05), then NDVI (0.20 ± 0.02); LST is ahead of NDVI beyond their spread over slices. Every learner puts LST first. The covariate most correlated with coarse soil moisture is LST (r = -0.40).
    """
    if learner not in summary.index.get_level_values(0):
        learner = str(summary.index.get_level_values(0)[0])
    s = summary.loc[learner].sort_values("permutation_mean", ascending=False)
    ranked = [(str(c).upper(), row["permutation_mean"], row.get("permutation_std", np.nan)) for c, row in s.iterrows()]

    def pm(v, sd):
        return f"{v:.2f} ± {sd:.2f}" if _ok(sd) else f"{v:.2f}"

    out = [f"For {learner.upper()} the most important factor is {ranked[0][0]} (permutation importance "
           f"{pm(*ranked[0][1:])})" + ("" if len(ranked) == 1 else ", then "
           + ", ".join(f"{c} ({pm(v, sd)})" for c, v, sd in ranked[1:]))]
    if len(ranked) > 1:
        (c1, v1, s1), (c2, v2, s2) = ranked[0], ranked[1]
        apart = _ok(s1, s2) and v1 - s1 > v2 + s2
        out[-1] += (f"; {c1} is ahead of {c2} beyond their spread over slices." if apart else
                    f"; {c1} and {c2} tie within their spread over slices.")
    tops = {str(m): str(summary.loc[m]["permutation_mean"].idxmax()).upper()
            for m in dict.fromkeys(summary.index.get_level_values(0))}
    if len(set(tops.values())) == 1:
        out.append(f"Every learner puts {next(iter(tops.values()))} first.")
    else:
        out.append("The learners disagree on the first factor: "
                   + ", ".join(f"{m.upper()} {c}" for m, c in tops.items()) + ".")
    if "r_mean" in s and s["r_mean"].notna().any():
        c = s["r_mean"].abs().idxmax()
        out.append(f"The covariate most correlated with coarse soil moisture is {str(c).upper()} "
                   f"(r = {s.loc[c, 'r_mean']:.2f}).")
    return "**What this section shows.** " + " ".join(out)


def windowed_downscaling(sensitivity: pd.DataFrame | None = None, tuning: pd.DataFrame | None = None,
                         caps: tuple[int, int] = (5, 3)) -> str:
    """Section 02: the best window caps against the ones used, and tuned against default learners.

    Parameters
    ----------
    sensitivity : pandas.DataFrame, optional
        :func:`smkit.analysis.experiments.window_sensitivity`: index (sw_max, nd_max), columns
        ``r`` (1) and ``ubrmse`` (m3 m-3) against the truth. None without a truth.
    tuning : pandas.DataFrame, optional
        :func:`smkit.workflow.scorecards.tuning_comparison`: rows ``<learner>_tuned`` and
        ``<learner>_default`` with ``r``, ``r_lo``, ``r_hi`` (90 % interval). None if not computed.
    caps : (int, int)
        The caps the product uses (sw_max cells, nd_max days).

    Returns
    -------
    str
        Markdown.
    """
    out = []
    if sensitivity is not None and sensitivity["ubrmse"].notna().any():
        best = sensitivity["ubrmse"].idxmin()
        b = sensitivity.loc[best]
        if tuple(int(x) for x in best) == tuple(caps):
            out.append(f"The caps used (sw_max {caps[0]}, nd_max {caps[1]}) give the lowest ubRMSE against "
                       f"the truth ({b['ubrmse']:.3f} m3 m-3, R {b['r']:.2f}).")
        elif tuple(caps) in sensitivity.index and _ok(sensitivity.loc[tuple(caps), "ubrmse"]):
            u = sensitivity.loc[tuple(caps)]
            bu, uu = _fmt(b["ubrmse"], u["ubrmse"], 3)
            out.append(f"The lowest ubRMSE against the truth is at sw_max {int(best[0])}, nd_max {int(best[1])} "
                       f"({bu} m3 m-3, R {b['r']:.2f}); the caps used ({caps[0]}, {caps[1]}) give {uu} m3 m-3 "
                       f"(R {u['r']:.2f}).")
        else:
            out.append(f"The lowest ubRMSE against the truth is at sw_max {int(best[0])}, nd_max {int(best[1])} "
                       f"({b['ubrmse']:.3f} m3 m-3); the caps used ({caps[0]}, {caps[1]}) were not scored.")
    if tuning is not None and not tuning.empty:
        by = {}
        for m in [i.removesuffix("_tuned") for i in tuning.index if str(i).endswith("_tuned")]:
            if f"{m}_default" not in tuning.index:
                continue
            t, d = tuning.loc[f"{m}_tuned"], tuning.loc[f"{m}_default"]
            w = _overlap_word(t["r"], t.get("r_lo"), t.get("r_hi"), d["r"], d.get("r_lo"), d.get("r_hi"))
            ft, fd = _fmt(t["r"], d["r"])
            by.setdefault(w, []).append(f"{m.upper()} ({ft} vs {fd})")
        parts = [f"{'ties with' if w == TIES else w} the default values in R for {_join(v)}"
                 + (" (90 % intervals overlap)" if w == TIES else "")
                 for w, v in by.items()]
        if parts:
            out.append("Against the truth, tuning " + "; it ".join(parts) + ".")
    if not out:
        out.append("There is no truth in this scenario: neither the window caps nor the tuning are scored here "
                   "(section 04 scores the product at the stations).")
    return "**What this section shows.** " + " ".join(out)


def bma_diagnostics(em: pd.DataFrame, diagnostics: pd.DataFrame | None = None,
                    mc3: pd.DataFrame | None = None) -> str:
    """Section 03: which learner the BMA weights favour, fallbacks, and whether the posterior converged.

    Parameters
    ----------
    em : pandas.DataFrame
        EM weights per zone (``ZoneBMA.table()``): columns ``w_<learner>``, ``n_pairs``, ``fallback``.
    diagnostics : pandas.DataFrame, optional
        PyMC diagnostics: columns ``r_hat``, ``ess_bulk``, ``divergences``.
    mc3 : pandas.DataFrame, optional
        MC3 weights per zone, columns ``w_<learner>``.

    Returns
    -------
    str
        Markdown.
    """
    wcols = [c for c in em.columns if c.startswith("w_") and not c.endswith("_sd")]
    fitted = em[~em["fallback"].astype(bool)] if "fallback" in em else em
    mean = (fitted if len(fitted) else em)[wcols].mean().sort_values(ascending=False)
    names = [c.removeprefix("w_").upper() for c in mean.index]
    ranking = (f"the largest mean weight goes to {names[0]} ({mean.iloc[0]:.2f})"
               + ("" if len(names) == 1 else ", then " + ", ".join(
                   f"{n} ({v:.2f})" for n, v in zip(names[1:], mean.iloc[1:], strict=True))))
    nfb = len(em) - len(fitted)
    if len(fitted):
        out = [f"Over the {len(fitted)} zone(s) with their own EM fit, {ranking}."]
        if nfb:
            out.append(f"{nfb} of {len(em)} zones have too few pairs and use the pooled weights.")
    else:
        out = [f"No zone has enough pairs for its own fit: all {len(em)} use the pooled weights, in which {ranking}."]
    if mc3 is not None and not mc3.empty and len(fitted):
        mw = [c for c in wcols if c in mc3.columns]
        same = [z for z in fitted.index if z in mc3.index
                and em.loc[z, mw].astype(float).idxmax() == mc3.loc[z, mw].astype(float).idxmax()]
        out.append(f"EM and MC3 agree on the leading learner in {len(same)} of {len(fitted)} fitted zones.")
    if diagnostics is not None and "r_hat" in diagnostics and diagnostics["r_hat"].notna().any():
        rmax = float(diagnostics["r_hat"].max())
        ess = float(diagnostics["ess_bulk"].min()) if "ess_bulk" in diagnostics else np.nan
        div = int(diagnostics["divergences"].sum()) if "divergences" in diagnostics else 0
        ok = rmax < 1.01 and div == 0 and (not _ok(ess) or ess >= 400)
        out.append(f"The PyMC posterior {'converged' if ok else 'did NOT converge cleanly'}: max r-hat "
                   f"{rmax:.3f} (threshold 1.01), min bulk ESS {ess:.0f} (threshold 400), {div} divergences.")
    return "**What this section shows.** " + " ".join(out)


def _station_lines(card: pd.DataFrame, best: str, reference: str, held: bool) -> list[str]:
    out = []
    groups = list(dict.fromkeys(card.index.get_level_values(0)))
    where = "held-out stations" if held else "stations"
    for metric, label in (("r", "pooled R"), ("r_demeaned", "station-demeaned (temporal) R")):
        if metric not in card.columns:
            continue
        per = {}
        lead = None
        for g in groups:
            if (g, best) not in card.index:
                continue
            row = card.loc[(g, best)]
            if (g, reference) not in card.index or not _ok(row.get(metric)):
                per.setdefault("missing", []).append(str(g))
                continue
            ref = card.loc[(g, reference)]
            if not _ok(ref.get(metric)):
                per.setdefault("missing", []).append(str(g))
                continue
            w = _word(row.get(f"diff_{metric}", row[metric] - ref[metric]),
                      row.get(f"diff_{metric}_lo"), row.get(f"diff_{metric}_hi"))
            fb, fr = _fmt(row[metric], ref[metric])
            if g == "all":
                lead = (f"At all {where} {best.upper()}'s {label} is {fb}{_interval(row, metric)} against "
                        f"{reference.upper()}'s {fr}: the product {w} the retrieval")
            else:
                per.setdefault(w, []).append(f"{g} ({fb} vs {fr})")
        bits = [f"{w} it at {_join(v)}" for w, v in per.items() if w != "missing"]
        tail = (" per network it " + "; it ".join(bits)) if bits else ""
        if "missing" in per:
            tail += ("; " if bits else " ") + f"no score at {_join(per['missing'])}"
        if lead is None and tail:
            out.append(f"At the {where}, in {label}, {best.upper()} against {reference.upper()}:{tail}.")
        elif lead is not None:
            out.append(lead + (f";{tail}." if tail else "."))
    return out


def insitu_validation(stations: pd.DataFrame, truth: pd.DataFrame | None = None,
                      best_learner: pd.DataFrame | None = None, *, best: str = "bma",
                      reference: str = "cci", held_out: bool = True) -> str:
    """Section 04: the product against the retrieval at the stations, the interpolations at 1 km, the learners.

    Parameters
    ----------
    stations : pandas.DataFrame
        Station scorecard (:func:`smkit.workflow.scorecards.station_holdout_scorecard` or
        :func:`~smkit.workflow.scorecards.station_scorecard`): index (group, model), group ``all``
        for the pooled stations; ``r``, ``r_demeaned`` (1) with ``_lo``/``_hi`` and ``diff_*`` against CCI.
    truth : pandas.DataFrame, optional
        :func:`smkit.workflow.scorecards.truth_scorecard`: index model (with ``nearest`` and ``bilinear``),
        ``r``, ``r_anomaly`` (1) with intervals and ``diff_*`` against bilinear. None without a truth.
    best_learner : pandas.DataFrame, optional
        :func:`smkit.workflow.scorecards.bma_vs_best`: per network ``bma_r``, ``best_learner``, ``best_r``.
    best : str
        The product's model name.
    reference : str
        The retrieval's model name at the stations.
    held_out : bool
        Whether the scored stations were held out of the sub-grid fit (wording only).

    Returns
    -------
    str
        Markdown, one bullet per comparison.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([["NZW", "all"], ["cci", "bma"]], names=["group", "model"])
    >>> card = pd.DataFrame({"r": [0.6, 0.5, 0.55, 0.51], "r_lo": [0.5, 0.4, 0.5, 0.45],
    ...                      "r_hi": [0.7, 0.6, 0.6, 0.57], "diff_r": [0, -0.1, 0, -0.04],
    ...                      "diff_r_lo": [0, -0.15, 0, -0.07], "diff_r_hi": [0, -0.05, 0, -0.01]}, index=idx)
    >>> print(insitu_validation(card))
    **What this section shows.**
    <BLANKLINE>
    - At all held-out stations BMA's pooled R is 0.51 (90 % interval 0.45-0.57) against CCI's 0.55: the product does not beat the retrieval; per network it does not beat it at NZW (0.50 vs 0.60).
    - There is no truth in this scenario: the product is not scored against the 1-km truth or the interpolations.
    """
    lines = _station_lines(stations, best, reference, held_out) if stations is not None else []
    if truth is not None and best in truth.index:
        row = truth.loc[best]
        for base in ("bilinear", "nearest"):
            if base not in truth.index:
                lines.append(f"Against the 1-km truth there is no {base} baseline to compare with.")
                continue
            b = truth.loc[base]
            parts = []
            for metric, label in (("r", "total R"), ("r_anomaly", "within cells")):
                if not _ok(row.get(metric), b.get(metric)):
                    continue
                if base == "bilinear" and f"diff_{metric}" in row:
                    w = _word(row[f"diff_{metric}"], row.get(f"diff_{metric}_lo"), row.get(f"diff_{metric}_hi"))
                else:
                    w = _overlap_word(row[metric], row.get(f"{metric}_lo"), row.get(f"{metric}_hi"),
                                      b[metric], b.get(f"{metric}_lo"), b.get(f"{metric}_hi"))
                fr, fb = _fmt(row[metric], b[metric])
                parts.append((w, f"{label} ({fr} vs {fb})"))
            if parts:
                words = list(dict.fromkeys(w for w, _ in parts))
                text = "; ".join(f"{w} {base} interpolation of the retrieval in {_join([p for ww, p in parts if ww == w])}"
                                 for w in words)
                lines.append(f"Against the 1-km truth {best.upper()} {text}.")
        win = [i for i in truth.index if str(i).endswith("_windows") and _ok(truth.loc[i, "r"])]
        if win and "bilinear" in truth.index:
            top = max(win, key=lambda i: truth.loc[i, "r"])
            t = truth.loc[top]
            w = _word(t.get("diff_r", t["r"] - truth.loc["bilinear", "r"]), t.get("diff_r_lo"), t.get("diff_r_hi"))
            ft, fb = _fmt(t["r"], truth.loc["bilinear", "r"])
            lines.append(f"Without stations, the best windowed learner ({top.removesuffix('_windows').upper()}) "
                         f"{w} bilinear in total R ({ft} vs {fb}).")
    else:
        lines.append("There is no truth in this scenario: the product is not scored against the 1-km truth "
                     "or the interpolations.")
    if best_learner is not None and not best_learner.empty:
        per = {}
        for net, row in best_learner.iterrows():
            fb, fl = _fmt(row["bma_r"], row["best_r"])
            per.setdefault(_word(row["bma_r"] - row["best_r"]), []).append(
                f"{net} ({fb} vs {str(row['best_learner']).upper()}'s {fl})")
        lines.append(f"At the stations {best.upper()} " + "; it ".join(
            f"{w} the best single learner in R at {_join(v)}" for w, v in per.items()) + ".")
    return "**What this section shows.**\n\n" + "\n".join(f"- {line}" for line in lines)


def model_intercomparison(summary: pd.DataFrame, product: str = "BMA") -> str:
    """Section 05: how closely the product follows each model field, pixel by pixel.

    Parameters
    ----------
    summary : pandas.DataFrame
        :func:`smkit.workflow.scorecards.comparison_summary`: index (reference, metric), columns
        ``median``, ``q10``, ``q90`` (R: 1; MAE: m3 m-3) and ``pixels``.
    product : str
        Name of the product in the sentence.

    Returns
    -------
    str
        Markdown.
    """
    if summary is None or summary.empty:
        return "**What this section shows.** No model field (ERA5, Noah) is in this scenario: nothing is compared."
    refs = list(dict.fromkeys(summary.index.get_level_values(0)))
    out = []
    for ref in refs:
        s = summary.loc[ref]
        bits = []
        if "r" in s.index:
            r = s.loc["r"]
            bits.append(f"median per-pixel R {r['median']:.2f} (10-90 % of pixels {r['q10']:.2f} to {r['q90']:.2f})")
        if "mae" in s.index:
            bits.append(f"median MAE {s.loc['mae', 'median']:.3f} m3 m-3")
        if "bias" in s.index:
            bits.append(f"median bias {s.loc['bias', 'median']:+.3f} m3 m-3")
        out.append(f"against {ref} ({int(s['pixels'].max())} pixels): " + ", ".join(bits))
    text = f"{product} " + "; ".join(out) + "."
    with_r = [ref for ref in refs if (ref, "r") in summary.index]
    if len(with_r) > 1:
        med = {ref: summary.loc[(ref, "r"), "median"] for ref in with_r}
        a, b = sorted(with_r, key=med.get, reverse=True)[:2]
        fa, fb = _fmt(med[a], med[b])
        text += f" It follows {a} more closely than {b} in time (median R {fa} vs {fb})."
    text += (" The model fields are references, not truth, and the retrieval is not scored against them here, "
             "so this section does not say whether the product beats the retrieval.")
    return "**What this section shows.** " + text


def drought(skill: pd.DataFrame | None, product: str = "product", reference: str = "cci") -> str:
    """Section 06: the product's regional series against the retrieval's, region by region.

    Each region is judged against every reference it has: the 1-km truth (synthetic
    scenarios) and the stations inside it. The verdict is on R, from the paired
    block-bootstrap interval of R(product) - R(retrieval) when the table has one;
    RMSE (m3 m-3) is given beside it, and a region where RMSE says otherwise is named.
    Without any reference the section says so rather than scoring one source against another.

    Parameters
    ----------
    skill : pandas.DataFrame or None
        :func:`smkit.analysis.drought.regional_skill`: index (region, reference, source), columns
        ``r`` (1), ``rmse`` (m3 m-3), ``n`` and, on a baseline's rows, ``dr``, ``dr_lo``, ``dr_hi`` (1)
        and ``drmse``, ``drmse_lo``, ``drmse_hi`` (m3 m-3), product minus baseline. The older
        layout (index (region, source), a ``reference`` column) is read too. None when no region
        passes the thresholds; empty when there is no reference.
    product, reference : str
        The product and the baseline it is judged against (the retrieval); a ``bilinear``
        baseline, when the table has one, is reported too.

    Returns
    -------
    str
        Markdown.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([[1], ["truth"], ["product", "cci"]],
    ...                                  names=["region", "reference", "source"])
    >>> sk = pd.DataFrame({"r": [0.8, 0.6], "rmse": [0.02, 0.03], "n": [700, 700],
    ...                    "dr": [np.nan, 0.2], "dr_lo": [np.nan, 0.1], "dr_hi": [np.nan, 0.3],
    ...                    "drmse": [np.nan, -0.01], "drmse_lo": [np.nan, -0.012],
    ...                    "drmse_hi": [np.nan, -0.008]}, index=idx)
    >>> print(drought(sk))
    **What this section shows.** Against the 1-km truth, the product's regional series beats CCI's at region 1 (R 0.80 vs 0.60, difference +0.20, 90 % interval +0.10 to +0.30; RMSE 0.020 vs 0.030 m3 m-3, difference -0.010, 90 % interval -0.012 to -0.008).
    """
    if skill is None:
        return "**What this section shows.** No drought-prone region passes the thresholds, so nothing is compared."
    if skill.index.nlevels == 2 and "reference" in skill.columns:  # the layout of smkit 0.2
        skill = skill.set_index("reference", append=True).reorder_levels([0, 2, 1])
    no_reference = ("there is no 1-km truth (real data) and no station inside them, so this section "
                    "cannot say whether the product's regional series is better than the retrieval's")
    if skill.empty:
        return f"**What this section shows.** No reference is available in the drought-prone regions: {no_reference}."
    labels = {"truth": "the 1-km truth", "stations": "the stations", "product": "the product"}
    names = {reference: f"{reference.upper()}'s", "bilinear": "the bilinear interpolation's"}
    regions = list(dict.fromkeys(skill.index.get_level_values(0)))
    refs = list(dict.fromkeys(skill.index.get_level_values(1)))
    out, unscored = [], {}

    def signed(v, digits):  # a difference, with one more digit when it would read as zero, else 0
        for d in (digits, digits + 1):
            if abs(v) >= 0.5 * 10 ** -d:
                return f"{v:+.{d}f}"
        return f"{0:.{digits}f}"

    for ref in refs:
        for base in (reference, "bilinear"):
            per, rmse_differs = {}, {}
            for region in regions:
                if (region, ref, product) not in skill.index or (region, ref, base) not in skill.index:
                    continue
                p, b = skill.loc[(region, ref, product)], skill.loc[(region, ref, base)]
                if not _ok(p["r"], b["r"]):
                    if base == reference:
                        unscored.setdefault(ref, []).append(str(region))
                    continue
                dr, dr_lo, dr_hi = (b.get(c, np.nan) for c in ("dr", "dr_lo", "dr_hi"))
                dr = dr if _ok(dr) else p["r"] - b["r"]
                w = _word(dr, dr_lo, dr_hi)
                fp, fb = _fmt(p["r"], b["r"])
                text = f"region {region} (R {fp} vs {fb}, difference {signed(dr, 2)}"
                text += f", 90 % interval {signed(dr_lo, 2)} to {signed(dr_hi, 2)}" if _ok(dr_lo, dr_hi) else ""
                if _ok(p.get("rmse"), b.get("rmse")):
                    d, d_lo, d_hi = (b.get(c, np.nan) for c in ("drmse", "drmse_lo", "drmse_hi"))
                    d = d if _ok(d) else p["rmse"] - b["rmse"]
                    fp, fb = _fmt(p["rmse"], b["rmse"], digits=3)
                    text += f"; RMSE {fp} vs {fb} m3 m-3, difference {signed(d, 3)}"
                    text += f", 90 % interval {signed(d_lo, 3)} to {signed(d_hi, 3)}" if _ok(d_lo, d_hi) else ""
                    w_rmse = _word(d, d_lo, d_hi, higher_better=False)
                    if w_rmse != w:
                        rmse_differs.setdefault(w_rmse, []).append(f"region {region}")
                per.setdefault(w, []).append(text + ")")
            if not per:
                continue
            lead = (f"Against {labels.get(ref, ref)}, the product's regional series " if base == reference
                    else f"Against {labels.get(ref, ref)}, it ")
            out.append(lead + "; it ".join(f"{w} {names[base]} at {_join(v)}" for w, v in per.items()) + ".")
            if rmse_differs:
                out.append("By RMSE, though, it " + "; it ".join(
                    f"{w} {names[base]} at {_join(v)}" for w, v in rmse_differs.items()) + ".")
    scored_anywhere = {r for r in regions for ref in refs
                       if str(r) not in unscored.get(ref, []) and (r, ref, product) in skill.index}
    missing = [str(r) for r in regions if r not in scored_anywhere]
    for ref, where in unscored.items():
        where = [r for r in where if r not in missing]  # said once below
        if not where:
            continue
        if ref == "stations":
            out.append(f"No station data lie in region(s) {_join(where)}: not scored against the stations.")
        else:
            out.append(f"Region(s) {_join(where)} have no data of {labels.get(ref, ref)}: not scored against it.")
    if missing and "product" not in refs:
        out.append(f"No reference is available in region(s) {_join(missing)}: {no_reference}.")
    if "product" in refs:
        out.append("Scored against the product, the retrieval's numbers say nothing about which is better.")
    return "**What this section shows.** " + " ".join(out)


def leave_one_out(scores: pd.DataFrame) -> str:
    """Section 07: which covariates the product needs (leaving them out lowers R at the stations).

    Parameters
    ----------
    scores : pandas.DataFrame
        :func:`smkit.workflow.uncertainty.leave_one_out`: index (case, network) with case ``all`` or
        ``without X``, column ``r`` (1).

    Returns
    -------
    str
        Markdown.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([["all", "without lst", "without dem"], ["A", "B"]],
    ...                                  names=["case", "network"])
    >>> s = pd.DataFrame({"r": [0.5, 0.6, 0.4, 0.5, 0.56, 0.62]}, index=idx)
    >>> print(leave_one_out(s))
    **What this section shows.** With every covariate BMA's R at the stations is 0.550 (mean of 2 networks). Leaving out LST lowers it by 0.100 to 0.450 (needed at A, B); leaving out DEM raises it by 0.040 to 0.590 (the product does better without it at A, B). No interval is computed here, so small changes are not tested against the noise of the stations.
    """
    r = scores["r"].unstack("network")
    if "all" not in r.index:
        return "**What this section shows.** The run with every covariate is missing: nothing to compare with."
    base = r.loc["all"]
    mean_all = float(base.mean())
    out = [f"With every covariate BMA's R at the stations is {mean_all:.3f} (mean of {base.notna().sum()} networks)."]
    cases = sorted([c for c in r.index if c != "all"], key=lambda c: float(r.loc[c].mean()))
    bits = []
    for c in cases:
        m = float(r.loc[c].mean())
        cov = str(c).removeprefix("without ").upper()
        lower = [str(n) for n in r.columns if _ok(r.loc[c, n], base[n]) and r.loc[c, n] < base[n]]
        higher = [str(n) for n in r.columns if _ok(r.loc[c, n], base[n]) and r.loc[c, n] > base[n]]
        if m < mean_all:
            bits.append(f"leaving out {cov} lowers it by {mean_all - m:.3f} to {m:.3f} "
                        f"(needed at {', '.join(lower) or 'no network'})")
        elif m > mean_all:
            bits.append(f"leaving out {cov} raises it by {m - mean_all:.3f} to {m:.3f} (the product does better "
                        f"without it at {', '.join(higher) or 'no network'})")
        else:
            bits.append(f"leaving out {cov} leaves it at {m:.3f}")
    if bits:
        out.append(bits[0][0].upper() + "; ".join(bits)[1:] + ".")
    out.append("No interval is computed here, so small changes are not tested against the noise of the stations.")
    return "**What this section shows.** " + " ".join(out)


def sample_reduction(summary: pd.DataFrame) -> str:
    """Section 08: how much BMA's R at the stations moves as training pairs are removed.

    Parameters
    ----------
    summary : pandas.DataFrame
        :func:`smkit.analysis.uncertainty.summarise_reduction`: index (fraction, network), columns
        ``r_mean`` and ``r_std`` (1, over repeats).

    Returns
    -------
    str
        Markdown.
    """
    r = summary["r_mean"].unstack("network")
    sd = summary["r_std"].unstack("network") if "r_std" in summary else r * np.nan
    fracs = sorted(r.index)
    if len(fracs) < 2:
        return "**What this section shows.** Only one share of pairs was scored: nothing to compare."
    f0, f1 = fracs[0], fracs[-1]
    per = {}
    for n in r.columns:
        a, b, s = r.loc[f0, n], r.loc[f1, n], sd.loc[f1, n]
        if not _ok(a, b):
            continue
        d = b - a
        if _ok(s) and abs(d) <= 2 * s:
            w = "within twice the spread of repeats"
        else:
            w = "lower" if d < 0 else "higher" if d > 0 else "unchanged"
        per.setdefault(w, []).append(f"{n} ({a:.3f} to {b:.3f}" + (f", sd {s:.3f})" if _ok(s) else ")"))
    out = [f"Removing {100 * f1:.0f} % of the BMA training pairs (against {100 * f0:.0f} %) leaves R at the "
           f"stations " + "; ".join(f"{w} at {_join(v)}" for w, v in per.items()) + "."]
    mean_change = float((r.loc[f1] - r.loc[f0]).mean())
    out.append(f"Mean change over networks: {mean_change:+.3f}: the weights "
               + ("depend little on the number of pairs." if abs(mean_change) < 0.01 else
                  "depend on the number of pairs."))
    return "**What this section shows.** " + " ".join(out)


def merits(clustering: pd.DataFrame, strategies: pd.DataFrame | None = None,
           overview: pd.DataFrame | None = None) -> str:
    """Section 09: zones against one BMA, windows against a global model, every approach side by side.

    Parameters
    ----------
    clustering : pandas.DataFrame
        :func:`smkit.analysis.experiments.compare_clustering`: index (reference, bma) with bma
        ``clustered`` / ``unclustered``, column ``r`` (1).
    strategies : pandas.DataFrame, optional
        :func:`smkit.analysis.experiments.compare_strategies`: rows (model, ``|window| / |global| - 1``),
        columns ``all`` and the quantiles (relative change of the absolute bias, 1).
    overview : pandas.DataFrame, optional
        :func:`smkit.workflow.scorecards.overview_table`: index model, columns
        ``stations r (mean of networks)`` and ``truth r`` (1).

    Returns
    -------
    str
        Markdown, one bullet per comparison.
    """
    lines = []
    per = {}
    for ref in dict.fromkeys(clustering.index.get_level_values(0)):
        g = clustering.loc[ref]
        if "clustered" not in g.index or "unclustered" not in g.index:
            continue
        c, u = g.loc["clustered", "r"], g.loc["unclustered", "r"]
        if not _ok(c, u):
            continue
        fc, fu = _fmt(c, u, 3)
        imp = g.loc["improvement [%]", "r"] if "improvement [%]" in g.index else 100 * (c - u) / abs(u)
        name = "the 1-km truth" if "truth" in str(ref) else str(ref).removeprefix("stations ")
        per.setdefault(_word(c - u), []).append(f"{name} (R {fc} vs {fu}, {imp:+.1f} %)")
    if per:
        lines.append("BMA per zone " + "; it ".join(f"{w} one BMA for the whole domain at {_join(v)}"
                                                     for w, v in per.items()) + ".")
    if strategies is not None and not strategies.empty:
        key = "|window| / |global| - 1"
        rel = strategies.xs(key, level=1) if key in strategies.index.get_level_values(1) else None
        if rel is not None:
            for col, label in (("all", "over all values"), (0.9, "at the 90 % quantile of the truth")):
                cols = [c for c in rel.columns if str(c) == str(col)]
                if not cols:
                    continue
                v = rel[cols[0]].dropna()
                less = [f"{m.upper()} ({100 * x:+.0f} %)" for m, x in v.items() if x < 0]
                more = [f"{m.upper()} ({100 * x:+.0f} %)" for m, x in v.items() if x >= 0]
                s = f"Adaptive windows have less absolute bias than the global model {label} for " \
                    + (_join(less) if less else "no learner")
                lines.append(s + (f"; not for {_join(more)}." if more else "."))
    if overview is not None and not overview.empty and "bma" in overview.index:
        for col, base, where in (("stations r (mean of networks)", "cci", "at the stations (mean of networks)"),
                                 ("truth r", "bilinear", "against the 1-km truth")):
            if col not in overview or not _ok(overview.loc["bma", col]):
                continue
            b = overview.loc["bma", col]
            bits = []
            if base in overview.index and _ok(overview.loc[base, col]):
                fb, fr = _fmt(b, overview.loc[base, col])
                label = "bilinear interpolation" if base == "bilinear" else base.upper()
                bits.append(f"{_word(b - overview.loc[base, col])} {label} ({fb} vs {fr})")
            learners = overview.drop(index=[i for i in ("bma", "cci", "bilinear", "nearest") if i in overview.index])
            learners = learners[col].dropna()
            if len(learners):
                top = learners.idxmax()
                fb, fl = _fmt(b, learners[top])
                bits.append(f"{_word(b - learners[top])} the best single learner {str(top).upper()} ({fb} vs {fl})")
            if bits:
                lines.append(f"In R {where}, BMA " + " and ".join(bits) + ".")
    if not lines:
        lines.append("Nothing was scored.")
    return "**What this section shows.**\n\n" + "\n".join(f"- {line}" for line in lines)
