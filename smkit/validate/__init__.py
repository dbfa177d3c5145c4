"""Validation: station matching, scores, splits, truth skill, model comparison.

One module per piece, as in pytesmo (matchers, scores and metrics apart):

- station matching (in :mod:`smkit.core.matching`, since the sub-grid step and BMA
  match stations before validation does; re-exported here): products brought to each station's
  observing period at its pixel (:func:`match_stations`, :func:`to_pairs`,
  :func:`period_bounds`, :func:`period_means`, :func:`station_cadences`);
- :mod:`~smkit.validate.scores`: scores of the matched pairs per station,
  network and season, and Table 4 (:func:`score_stations`,
  :func:`score_networks`, :func:`score_seasons`, :func:`network_table`);
- :mod:`~smkit.validate.splits`: train/test designs (:func:`split_years`,
  :func:`split_stations`);
- :mod:`~smkit.validate.truth`: skill against the 1-km truth, seams and the
  interpolation baselines (:func:`truth_skill`, :func:`seam_ratio`,
  :func:`interpolation_baselines`);
- :mod:`~smkit.validate.comparison`: agreement with other models
  (:func:`compare_models`);
- :mod:`~smkit.validate.intervals`: analytic (pytesmo's) and bootstrap
  intervals of R, RMSE, ubRMSE and bias (:func:`r_interval`,
  :func:`rmse_interval`, :func:`ubrmse_interval`, :func:`bias_interval`,
  :func:`bootstrap_interval`);
- :mod:`~smkit.validate.anomaly`: day-of-year climatologies, anomalies and
  anomaly R, pytesmo's semantics (:func:`climatology`, :func:`anomalies`,
  :func:`anomaly_r`, :func:`moving_mean`, :func:`day_of_year`);
- :mod:`~smkit.validate.scaling`: a product scaled to a reference
  (:func:`scale_mean_std`, :func:`scale_cdf_match`, :func:`scale`);
- :mod:`~smkit.validate.collocation`: triple collocation error standard
  deviations (:func:`triple_collocation`);
- :mod:`~smkit.validate.labels` (the paper's labels and orders),
  :mod:`~smkit.core.pixels` (reading a product, locating points),
  :mod:`~smkit.validate.metrics`, :mod:`~smkit.validate.skill` and
  :mod:`~smkit.validate.along` (the xarray side of the kernels above).

The figures are in :mod:`smkit.plot.validate`.
"""

from smkit._compat import moved_names
from smkit.core.matching import (  # noqa: F401
    StationMatchWarning,
    match_stations,
    period_bounds,
    period_means,
    station_cadences,
    to_pairs,
)
from smkit.core.vocabulary import CADENCES, MODEL_LABELS, NETWORK_CADENCE  # noqa: F401
from smkit.validate.anomaly import anomalies, anomaly_r, climatology, day_of_year, moving_mean  # noqa: F401
from smkit.validate.collocation import triple_collocation  # noqa: F401
from smkit.validate.comparison import compare_models  # noqa: F401
from smkit.validate.intervals import (  # noqa: F401
    bias_interval,
    bootstrap_interval,
    r_interval,
    rmse_interval,
    ubrmse_interval,
)
from smkit.validate.labels import MONSOON_MONTHS, model_label  # noqa: F401
from smkit.validate.scaling import SCALERS, scale, scale_cdf_match, scale_mean_std  # noqa: F401
from smkit.validate.scores import (  # noqa: F401
    network_table,
    score_networks,
    score_seasons,
    score_stations,
)
from smkit.validate.splits import split_stations, split_years  # noqa: F401
from smkit.validate.truth import interpolation_baselines, seam_ratio, truth_skill  # noqa: F401

__getattr__ = moved_names("smkit.validate", {
    "plot_model_comparison": "smkit.plot.validate",
    "plot_scatter": "smkit.plot.validate",
    "plot_station_map": "smkit.plot.validate",
    "plot_station_series": "smkit.plot.validate",
    "METHOD_LABELS": "smkit.core.vocabulary:MODEL_LABELS",
    "method_label": "smkit.validate.labels:model_label",
})

__all__ = [
    "CADENCES",
    "MODEL_LABELS",
    "MONSOON_MONTHS",
    "NETWORK_CADENCE",
    "SCALERS",
    "StationMatchWarning",
    "anomalies",
    "anomaly_r",
    "bias_interval",
    "bootstrap_interval",
    "climatology",
    "compare_models",
    "day_of_year",
    "interpolation_baselines",
    "match_stations",
    "model_label",
    "moving_mean",
    "network_table",
    "period_bounds",
    "period_means",
    "r_interval",
    "rmse_interval",
    "scale",
    "scale_cdf_match",
    "scale_mean_std",
    "score_networks",
    "score_seasons",
    "score_stations",
    "seam_ratio",
    "split_stations",
    "split_years",
    "station_cadences",
    "to_pairs",
    "triple_collocation",
    "truth_skill",
    "ubrmse_interval",
]
