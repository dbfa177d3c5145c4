"""Figures of the BMA fits: weights per zone and member, and the ArviZ views of a PyMC posterior.

:func:`plot_weights` draws one or several :class:`smkit.bma.ZoneBMA` side by
side; :func:`plot_trace`, :func:`plot_posterior` and :func:`plot_forest` wrap
ArviZ for a posterior of :func:`smkit.bma.fit_pymc` (or one zone of a ``pymc``
:class:`smkit.bma.ZoneBMA`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from smkit.bma import ZoneBMA

__all__ = ["plot_forest", "plot_posterior", "plot_trace", "plot_weights"]

_MEMBER_COLORS = {"rf": "#1b9e77", "mlr": "#d95f02", "svr": "#7570b3", "xgb": "#e7298a"}
_HATCHES = ["", "//", "..", "xx"]
_METHOD_LABELS = {"em": "EM", "pymc": "PyMC posterior", "mc3": "MC3"}


def _by_zone(da: xr.DataArray, fit: ZoneBMA, member: str, zones: list[int]) -> np.ndarray:
    """Values of ``da(zone, member)`` for one member at ``zones`` (NaN where ``fit`` lacks the zone)."""
    return np.array([float(da.sel(zone=z, member=member)) if z in fit.zones else np.nan for z in zones])


def _weight_bars(ax, fits: dict, members: list[str], zones: list[int]) -> None:
    """One bar per zone, member and fit; bars of one fit share a hatch."""
    nk = len(members)
    width = 0.8 / (len(fits) * nk)
    for j, f in enumerate(fits.values()):
        for k, m in enumerate(members):
            if m not in f.members:
                continue
            x = np.arange(len(zones)) - 0.4 + (j * nk + k + 0.5) * width
            err = None if f.weights_sd is None else _by_zone(f.weights_sd, f, m, zones)
            ax.bar(
                x,
                _by_zone(f.weights, f, m, zones),
                width,
                yerr=err,
                color=_MEMBER_COLORS.get(m, f"C{k}"),
                hatch=_HATCHES[j % 4],
                edgecolor="black",
                linewidth=0.5,
                error_kw={"elinewidth": 0.8, "capsize": 2},
            )


def _weights_legend(ax, members: list[str], names: list[str]) -> None:
    """Legend of the member colours and, with several fits, of their hatches."""
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=_MEMBER_COLORS.get(m, f"C{k}"), edgecolor="black", label=m)
        for k, m in enumerate(members)
    ]
    if len(names) > 1:
        handles += [
            Patch(
                facecolor="white",
                edgecolor="black",
                hatch=_HATCHES[j % 4],
                label=_METHOD_LABELS.get(key, key),
            )
            for j, key in enumerate(names)
        ]
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize="small",
        title="member" + (" / fit" if len(names) > 1 else ""),
        frameon=False,
    )


def plot_weights(
    zone_bma: ZoneBMA | None = None, *, ax=None, title: str | None = None, **fits: ZoneBMA
):
    """Bar chart of the BMA weights per zone and member, with error bars.

    Parameters
    ----------
    zone_bma : ZoneBMA, optional
        One fit to show.
    ax : matplotlib.axes.Axes, optional
        Axes to draw in (default: a new figure).
    title : str, optional
    **fits : ZoneBMA
        Several fits side by side, labelled by keyword, e.g.
        ``plot_weights(em=em_fit, pymc=pymc_fit)``; bars of one fit share a
        hatch. Error bars show ``weights_sd`` (posterior sd) where available.

    Returns
    -------
    matplotlib.figure.Figure
        Zones on the x axis (fallback zones marked ``*``), weight (1) on the y axis.
    """
    import matplotlib.pyplot as plt

    if zone_bma is not None:
        fits = {zone_bma.method: zone_bma, **fits}
    if not fits:
        raise ValueError("give a ZoneBMA, or several as keywords (e.g. em=..., pymc=...)")
    names = list(fits)
    members = list(fits[names[0]].members)
    zones = sorted({int(z) for f in fits.values() for z in f.zones})
    if ax is None:
        fig, ax = plt.subplots(
            figsize=(max(6.0, 0.9 * len(zones) * max(len(names), 1) + 2.0), 4.2),
            constrained_layout=True,
        )
    else:
        fig = ax.figure
    _weight_bars(ax, fits, members, zones)
    fallback = set().union(*[set(f.fallback) for f in fits.values()])
    ax.set_xticks(np.arange(len(zones)))
    ax.set_xticklabels([f"{z}*" if z in fallback else str(z) for z in zones])
    ax.set_xlabel("zone (1 = driest)" + ("; * = pooled fallback" if fallback else ""))
    ax.set_ylabel("BMA weight (1)")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    _weights_legend(ax, members, names)
    for x in np.arange(len(zones) - 1) + 0.5:
        ax.axvline(x, color="0.85", linewidth=0.8, zorder=0)
    what = " vs ".join(_METHOD_LABELS.get(k, k) for k in names)
    sd_note = (
        " (error bars: posterior sd)"
        if any(f.weights_sd is not None for f in fits.values())
        else ""
    )
    ax.set_title(title or f"BMA weights per zone: {what}{sd_note}")
    return fig


def _tree(fit, zone=None) -> xr.DataTree:
    if isinstance(fit, xr.DataTree):
        return fit
    if isinstance(fit, ZoneBMA):
        trees = fit.trees
        if zone is None:
            if len(trees) != 1:
                raise ValueError(f"give zone=; this fit has zones {[z for z in trees]}")
            zone = next(iter(trees))
        if zone not in trees:
            raise KeyError(f"zone {zone!r} has no posterior; zones: {list(trees)}")
        return trees[zone]
    raise TypeError(
        f"expected a PyMC DataTree or a ZoneBMA fitted with method='pymc', not {type(fit).__name__}"
    )


def _arviz_plot(plot, fit, zone, kwargs: dict, var_names: list[str], what: str, legend=None):
    """``plot`` (an ArviZ function) of ``var_names`` of one posterior, titled ``what``."""
    kwargs.setdefault("var_names", var_names)
    if kwargs.get("backend") in (None, "matplotlib") and "plot_collection" not in kwargs:
        kwargs.setdefault("figure_kwargs", {"layout": "constrained"})  # room for the title
    pc = plot(_tree(fit, zone), **kwargs)
    if legend is not None:
        try:
            pc.add_legend(legend)
        except ValueError:  # the aesthetics were remapped by the caller: no member legend
            pass
    try:
        pc.add_title(what.format(zone="" if zone is None else f", zone {zone}"))
    except ValueError:  # no figure (plot drawn into a caller's collection)
        pass
    return pc


def plot_trace(fit, zone=None, **kwargs):
    """Trace and marginal densities of ``w`` and ``sigma`` (ArviZ ``plot_trace_dist``).

    Parameters
    ----------
    fit : xarray.DataTree or ZoneBMA
        A :func:`smkit.bma.fit_pymc` result, or a ``pymc`` :class:`ZoneBMA` with ``zone``.
    zone : int, optional
        Zone label (or ``"pooled"``) when ``fit`` is a ZoneBMA.
    **kwargs
        Passed to :func:`arviz.plot_trace_dist`.

    Returns
    -------
    arviz_plots.PlotCollection
    """
    import arviz as az

    return _arviz_plot(az.plot_trace_dist, fit, zone, kwargs, ["w", "sigma"],
                       "BMA posterior trace{zone} (w: 1, sigma: m3 m-3)", legend=["member", "__variable__"])


def plot_posterior(fit, zone=None, **kwargs):
    """Marginal posteriors of ``w`` and ``sigma`` with credible intervals (ArviZ ``plot_dist``).

    Parameters
    ----------
    fit : xarray.DataTree or ZoneBMA
    zone : int, optional
    **kwargs
        Passed to :func:`arviz.plot_dist`.

    Returns
    -------
    arviz_plots.PlotCollection
    """
    import arviz as az

    return _arviz_plot(az.plot_dist, fit, zone, kwargs, ["w", "sigma"],
                       "BMA posterior{zone} (w: 1, sigma: m3 m-3)")


def plot_forest(fit, zone=None, **kwargs):
    """Forest plot of the weights per member (ArviZ ``plot_forest``).

    Parameters
    ----------
    fit : xarray.DataTree or ZoneBMA
    zone : int, optional
    **kwargs
        Passed to :func:`arviz.plot_forest` (default ``var_names=["w"]``, chains combined).

    Returns
    -------
    arviz_plots.PlotCollection
    """
    import arviz as az

    kwargs.setdefault("combined", True)
    return _arviz_plot(az.plot_forest, fit, zone, kwargs, ["w"], "BMA weights{zone} (1)")
