"""What a learner is: the :class:`Learner` record every learner module registers.

A learner module (:mod:`~smkit.engine.learners.forest`, ``mlr``, ``svr``,
``boosting``) builds one ``Learner`` that carries everything the engine needs
of it: its defaults and tuning ranges, the smallest window it fits, and its two
backends as callables, a reference estimator factory (scikit-learn/xgboost)
and a fast batched path. The registry (:mod:`~smkit.engine.learners.registry`)
lists the modules' learners and dispatches on them; it holds no learner's
particulars.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Learner", "kernels_cached"]

#: ``estimator(params, seed, base_score)``: a fresh reference estimator for resolved ``params``.
EstimatorFactory = Callable[[dict, int, "float | None"], object]

#: ``fast(X, y, ptr, Z, zptr, params, seed, window_ids)``: predictions for the rows of ``Z``.
FastPath = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Learner:
    """A registered learner: its defaults, tuning ranges, minimum window size and backends.

    Attributes
    ----------
    name : str
        Registry key (``"rf"``, ...).
    long_name : str
        What it is, in words.
    defaults : dict
        Every hyperparameter with its default; the only keys ``params`` may give.
    search : dict
        Tuning ranges ``{param: [values]}`` (:func:`smkit.engine.learners.tune`).
    min_samples : int
        Fewest training samples a window needs for this learner.
    estimator : callable
        ``estimator(params, seed, base_score)``: the reference scikit-learn /
        xgboost estimator for resolved ``params`` (``base_score``, m3 m-3, the
        window's mean target, for boosting).
    fast : callable
        ``fast(X, y, ptr, Z, zptr, params, seed, window_ids)``: the batched
        path on contiguous float64/int64 arrays and resolved ``params``;
        predictions for the rows of ``Z``.
    estimator_prefix : str
        Prefix of the hyperparameters' names in the reference estimator (the
        pipeline step, e.g. ``"svr__"``), for tuning.
    estimator_names : dict
        Hyperparameters whose reference name differs (``{"eta": "learning_rate"}``).
    """

    name: str
    long_name: str
    defaults: dict = field(default_factory=dict)
    search: dict = field(default_factory=dict)
    min_samples: int = 10
    estimator: EstimatorFactory = field(kw_only=True, repr=False)
    fast: FastPath = field(kw_only=True, repr=False)
    estimator_prefix: str = field(default="", kw_only=True)
    estimator_names: dict = field(default_factory=dict, kw_only=True)

    def estimator_param(self, key: str) -> str:
        """The reference estimator's name of hyperparameter ``key``."""
        return self.estimator_prefix + self.estimator_names.get(key, key)

    def param(self, estimator_key: str) -> str:
        """The hyperparameter that the reference estimator calls ``estimator_key``."""
        key = estimator_key.removeprefix(self.estimator_prefix)
        return {v: k for k, v in self.estimator_names.items()}.get(key, key)


def kernels_cached() -> bool:
    """Whether numba has already compiled and cached the learners' kernels on this machine.

    The first run compiles them (one to three minutes on two cores, once; later runs load the cache
    in under a second); callers say so before starting instead of seeming to hang.
    """
    import os
    from pathlib import Path

    here = Path(__file__).resolve().parent
    places = [here / "__pycache__"]
    if os.environ.get("NUMBA_CACHE_DIR"):
        places.append(Path(os.environ["NUMBA_CACHE_DIR"]))
    places.append(Path.home() / ".cache" / "numba")
    return any(next(p.rglob("_trees.*.nbi"), None) is not None for p in places if p.is_dir())
