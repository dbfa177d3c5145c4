r"""Triple collocation: error standard deviations of three collocated soil-moisture series.

Three series of the same soil moisture with independent errors -- e.g. the
downscaled product, the CCI retrieval and the stations (or ERA5) -- give each
one's error variance from their covariances alone, without a truth
(Stoffelen 1998; Gruber et al. 2016, 2020). :func:`triple_collocation` is
pytesmo's ``tcol_metrics`` (the classic covariance notation) along ``time``
for every station or pixel at once:

.. math::

    \sigma^2_{\varepsilon_i} = \sigma_i^2 - \frac{\sigma_{ij}\sigma_{ik}}{\sigma_{jk}},\quad
    \beta_i = \frac{\sigma_{rk}}{\sigma_{ik}}\ (\beta_r = 1),\quad
    \mathrm{SNR}_i = -10 \log_{10}\left|\left|\frac{\sigma_i^2\sigma_{jk}}
    {\sigma_{ij}\sigma_{ik}}\right| - 1\right|

for each dataset ``i`` with the other two ``j`` and ``k`` (in ``beta``, ``k``
is the dataset that is neither ``i`` nor the reference ``r``), the
covariances ``sigma`` (``n - 1`` in the denominator) taken over the complete
triplets. The error standard deviation is
reported **scaled into the reference's space**, ``sqrt(sigma^2_eps_i) *
beta_i``, so all three are in the reference's units: **m3 m-3** when the
reference is volumetric soil moisture (choose the stations or the product as
the reference for m3 m-3 of that dataset's climatology). A negative error
variance (sampling noise, or errors that are not independent) gives NaN, as
in pytesmo.

The estimates are noisy for short records: by default at least 100 complete
triplets are required (pytesmo's guard for its bootstrap), and a series with
fewer raises an error saying how many were found (``too_few="nan"`` gives NaN
there instead, e.g. for a map with water pixels).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from smkit.validate.along import apply_along, enough_pairs, shared_units

__all__ = ["MIN_TRIPLETS", "triple_collocation"]

#: Complete triplets :func:`triple_collocation` needs by default.
MIN_TRIPLETS = 100
_OUT = ("err_std", "err_var", "snr", "beta")


def _covariances(x, y, z):
    """Sample covariances (ddof=1) of the complete triplets along the last axis -> (..., 3, 3), n."""
    a = np.stack(np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (x, y, z))), axis=-2)  # (..., 3, T)
    ok = np.isfinite(a).all(axis=-2)
    count = ok.sum(axis=-1)
    safe = np.where(count > 0, count, 1)
    a0 = np.where(ok[..., None, :], a, 0.0)
    c = np.where(ok[..., None, :], a0 - (a0.sum(-1) / safe[..., None])[..., None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = np.einsum("...it,...jt->...ij", c, c) / (count - 1)[..., None, None]
    return cov, count


def _tcol_kernel(x, y, z, *, ref, minimum, too_few):
    cov, count = _covariances(x, y, z)
    ok = enough_pairs(count, minimum, what="triple collocation", too_few=too_few, unit="complete triplets")
    err_var, snr, beta = (np.empty(cov.shape[:-2] + (3,)) for _ in range(3))
    others = [k for k in range(3) if k != ref]
    with np.errstate(invalid="ignore", divide="ignore"):
        for i in range(3):
            j, k = (i + 1) % 3, (i + 2) % 3
            err_var[..., i] = cov[..., i, i] - cov[..., i, j] * cov[..., i, k] / cov[..., j, k]
            ratio = np.abs(cov[..., i, i] * cov[..., j, k] / (cov[..., i, j] * cov[..., i, k]))
            snr[..., i] = 10 * np.log10(np.abs(ratio - 1) ** -1.0)
            third = next(o for o in others if o != i) if i != ref else None
            beta[..., i] = 1.0 if i == ref else cov[..., ref, third] / cov[..., i, third]
        err_std = np.sqrt(err_var) * beta
    mask = ok[..., None]
    return (*(np.where(mask, v, np.nan) for v in (err_std, err_var, snr, beta)), count)


def triple_collocation(x, y, z, dim: str = "time", *, axis: int = -1, ref: int = 0,
                       names: tuple[str, str, str] = ("x", "y", "z"), min_triplets: int = MIN_TRIPLETS,
                       too_few: str = "raise"):
    """Error standard deviations, SNR and scaling of three collocated series (pytesmo's ``tcol_metrics``).

    Parameters
    ----------
    x, y, z : array-like or xarray.DataArray
        Three collocated series (e.g. product, CCI and stations, m3 m-3);
        DataArrays align exactly, the dimensions other than ``dim`` broadcast
        (one estimate per station, pixel or learner).
    dim : str, default "time"
        DataArray dimension of the triplets.
    axis : int, default -1
        The same for NumPy inputs.
    ref : {0, 1, 2}, default 0
        The reference dataset whose space the error standard deviations are
        scaled into (``beta = 1``).
    names : three str, default ("x", "y", "z")
        Labels of the datasets (the ``dataset`` coordinate).
    min_triplets : int, default 100
        Complete triplets needed per series (at least 3).
    too_few : {"raise", "nan"}, default "raise"
        Where a series has fewer: an error saying how many were found, or NaN.

    Returns
    -------
    xarray.Dataset or dict
        Along a new last dimension ``dataset`` (the three ``names``):
        ``err_std`` (error standard deviation scaled to the reference,
        m3 m-3 for volumetric soil moisture; NaN for a negative error
        variance), ``err_var`` (unscaled error variance, each dataset's own
        units squared), ``snr`` (signal-to-noise ratio, dB) and ``beta``
        (scaling to the reference, 1); and ``n`` (complete triplets). For
        NumPy inputs a dict with arrays whose last axis holds the three
        datasets.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.normal(0.25, 0.06, 2000)
    >>> out = triple_collocation(truth + rng.normal(0, 0.02, 2000), 0.8 * truth + rng.normal(0, 0.03, 2000),
    ...                          truth + rng.normal(0, 0.04, 2000))
    >>> np.round(out["err_std"], 2).tolist(), int(out["n"])
    ([0.02, 0.04, 0.04], 2000)
    """
    if ref not in (0, 1, 2):
        raise ValueError(f"ref is the index of the reference dataset, 0, 1 or 2; got {ref!r}")
    if int(min_triplets) < 3:
        raise ValueError(f"triple collocation needs at least 3 triplets; min_triplets={min_triplets}")
    if len(names) != 3 or len(set(names)) != 3:
        raise ValueError(f"names must be three distinct labels, got {names!r}")
    kw = {"ref": int(ref), "minimum": int(min_triplets), "too_few": too_few}
    arrays = (x, y, z)
    if not any(isinstance(a, xr.DataArray) for a in arrays):
        moved = (np.moveaxis(a, axis, -1) for a in np.broadcast_arrays(*(np.asarray(a, np.float64)
                                                                          for a in arrays)))
        outs = _tcol_kernel(*moved, **kw)
        return {k: (v[()] if v.ndim == 0 else v) for k, v in zip((*_OUT, "n"), outs, strict=True)}
    outs = apply_along(_tcol_kernel, list(arrays), dim, out_core_dims=[["dataset"]] * 4 + [[]],
                       out_dtypes=[np.float64] * 4 + [np.int64], out_sizes={"dataset": 3}, kwargs=kw)
    ds = xr.Dataset(dict(zip((*_OUT, "n"), outs, strict=True))).assign_coords(dataset=list(names))
    units = shared_units(arrays[ref])
    ds["err_std"].attrs = {"long_name": f"error standard deviation in the space of {names[ref]}",
                           **({"units": units} if units else {})}
    ds["err_var"].attrs = {"long_name": "error variance of each dataset in its own units"}
    ds["snr"].attrs = {"long_name": "signal-to-noise ratio", "units": "dB"}
    ds["beta"].attrs = {"long_name": f"scaling of each dataset to {names[ref]}", "units": "1"}
    ds["n"].attrs = {"long_name": "complete triplets", "units": "1"}
    ds.attrs["reference"] = names[ref]
    return ds
