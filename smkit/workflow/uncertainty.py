"""The uncertainty experiments of section 4.6 run on a study: its reruns, refits and scores.

:func:`leave_one_out` reruns downscaling without each covariate in turn — at
the coarse cells holding stations only (:func:`station_cells`), since the
stations are what scores it, with every other cell still training the
windows — refits BMA on the training years and scores it against the
stations over the validation years (Fig. 12a). Each rerun is cached like the
base product, so a second run of the notebook costs seconds.

:func:`sample_reduction` removes a share of the BMA training pairs at random,
refits and scores, repeated over seeds (Fig. 12b); removing 0 % reproduces
the base BMA exactly.

The scoring is :mod:`smkit.analysis.uncertainty`; this module hands it the
study's pairs and its BMA (:func:`smkit.workflow.study.fit_bma`,
:func:`smkit.workflow.study.bma_at_pairs`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import xarray as xr

from smkit.analysis.uncertainty import (
    bma_network_scores,
    leave_one_out_sets,
    sample_reduction_scores,
    station_cell_mask,
)
from smkit.workflow.study import PRODUCT_OPTIONS, bma_at_pairs, fit_bma, station_pairs, variant_products

if TYPE_CHECKING:
    from smkit.workflow.study import Study

__all__ = ["bma_scores", "leave_one_out", "sample_reduction", "station_cells"]


def station_cells(st: Study) -> xr.DataArray:
    """Boolean mask on the coarse grid of the cells holding a station matched by the study."""
    return station_cell_mask(st.scenario.coarse, st.matched)


def _study_bma(st: Study):
    """The study's BMA as the fit and predict callables of :mod:`smkit.analysis.uncertainty`."""

    def fit(fit_pairs):
        return fit_bma(fit_pairs, st.learners, st.train_years, zones=st.zones, method="em")

    def predict(model, pairs):
        return bma_at_pairs(model, pairs, st.learners)

    return {"fit": fit, "predict": predict}


def bma_scores(st: Study, pairs: pd.DataFrame, fit_pairs: pd.DataFrame | None = None) -> pd.DataFrame:
    """BMA fitted on the training years of ``fit_pairs`` (default ``pairs``), scored on the validation years.

    Scored on the pairs of Table 4 (every learner, the retrieval and the
    station have a value), so the ``all`` case equals Table 4's BMA row
    (:func:`smkit.analysis.uncertainty.bma_network_scores`).
    """
    return bma_network_scores(pairs, st.learners, st.test_years, fit_pairs=fit_pairs, **_study_bma(st))


def leave_one_out(st: Study, covariates=None, *, progress: bool = True) -> pd.DataFrame:
    """BMA's station scores with all covariates and without each one (Fig. 12a).

    Every case is the windowed learners' product (without the sub-grid
    pattern learned from the stations), BMA refitted on its training years.

    Parameters
    ----------
    st : smkit.workflow.study.Study
        The study (its product, learners, zones, years and caps are reused).
    covariates : sequence of str, optional
        Covariates to leave out in turn (default: those of the product).
    progress : bool

    Returns
    -------
    pandas.DataFrame
        Rows (case, network) with case ``all`` or ``without X``; columns
        ``n``, ``r`` (1), ``rmse``, ``mae``, ``ubrmse`` (m3 m-3).
    """
    sets = leave_one_out_sets(str(st.product.attrs.get("covariates", "")).split(","), covariates)
    cells = station_cells(st)
    opts = {k: v for k, v in st.params.items() if k in PRODUCT_OPTIONS and k != "covariates"}
    opts["seed"] = st.params.get("seed", 0)
    zones = st.zones if st.params.get("clustered", True) else None
    # like with like: the variants are windowed products, so the full set is scored at the same stage
    # (the sub-grid model learned from the stations is not refitted per variant)
    if getattr(st, "windowed", None) is not None:
        _, base_pairs = station_pairs(st.windowed, st.scenario, zones)
    else:
        base_pairs = st.pairs
    frames = [bma_scores(st, base_pairs).assign(case="all")]
    # few cells: reading dominates, so every set shares one pass over the inputs, in long day blocks
    products = variant_products(st.scenario, sets, learners=st.learners, cache_dir=st.params.get("cache_dir"),
                                cells=cells, time_chunk=64, progress=progress, **opts)
    for case, product in products.items():
        _, pairs = station_pairs(product, st.scenario, zones)
        frames.append(bma_scores(st, pairs).assign(case=case))
    return pd.concat(frames).set_index(["case", "network"])


def sample_reduction(st: Study, fractions=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5), repeats: int = 10, seed: int = 0,
                     progress: bool = True) -> pd.DataFrame:
    """BMA's station scores after removing a share of the study's training pairs at random (Fig. 12b).

    The study's pairs, learners, years and BMA given to
    :func:`smkit.analysis.uncertainty.sample_reduction_scores`, which
    describes ``fractions`` (shares 0-1 of the training-year pairs removed),
    ``repeats``, ``seed`` and the table returned: one row per (fraction,
    repeat, network) with ``n``, ``r`` (1), ``rmse``, ``mae``, ``ubrmse``
    (m3 m-3) and ``n_train``.
    """
    return sample_reduction_scores(st.pairs, st.learners, st.train_years, st.test_years, fractions=fractions,
                                   repeats=repeats, seed=seed, progress=progress, **_study_bma(st))
