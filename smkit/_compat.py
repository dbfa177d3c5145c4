"""Old import paths of the flat 0.1 layout, kept working for one release.

``import smkit.grid`` (and every other module that moved into a stage subpackage)
still works: a finder on ``sys.meta_path`` answers the old name with a thin
module that forwards every attribute to the new home, after a
``DeprecationWarning`` that names the new place.

>>> import sys, warnings
>>> _ = sys.modules.pop("smkit.grid", None)  # as in a fresh interpreter
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     from smkit.grid import Grid
>>> Grid.__module__, caught[0].category.__name__
('smkit.core.grid', 'DeprecationWarning')
"""

import functools
import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: Old module -> its home since 0.2 (the old names work, with a DeprecationWarning, until 0.3).
MOVED = {
    "smkit.vocabulary": "smkit.core.vocabulary",
    "smkit.grid": "smkit.core.grid",
    "smkit.io": "smkit.core.schema",
    "smkit.realism": "smkit.analysis.realism",
    "smkit.features": "smkit.engine.features",
    "smkit.windows": "smkit.engine.windows",
    "smkit.learners": "smkit.engine.learners",
    "smkit.subgrid": "smkit.engine.subgrid",
    "smkit.zones": "smkit.bma.zones",
    "smkit.metrics": "smkit.validate.metrics",
    "smkit.validate.matching": "smkit.core.matching",
    "smkit.validate.products": "smkit.core.pixels",
    "smkit.skill": "smkit.validate.skill",
    "smkit.drought": "smkit.analysis.drought",
    "smkit.importance": "smkit.analysis.importance",
    "smkit.uncertainty": "smkit.analysis.uncertainty",
    "smkit.experiments": "smkit.analysis.experiments",
    "smkit.study": "smkit.workflow.study",
    "smkit.reproduce": "smkit.workflow.reproduce",
    "smkit.report": "smkit.workflow.report",
    "smkit.cache": "smkit.workflow.cache",
    "smkit.bench": "smkit.workflow.bench",
}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answer an old module name with a forwarding module (see :data:`MOVED`)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module):
        new = MOVED[module.__name__]
        warnings.warn(f"{module.__name__} moved to {new}; import it from there (the old name goes in 0.3)",
                      DeprecationWarning, stacklevel=_caller_level())
        target = importlib.import_module(new)
        module.__getattr__ = lambda name: getattr(target, name)
        module.__dir__ = lambda: dir(target)
        module.__doc__ = f"Deprecated alias of :mod:`{new}`."
        module.__all__ = list(getattr(target, "__all__", ()))


def _caller_level() -> int:
    # point the warning at the first frame outside importlib and this module
    frame, level = sys._getframe(1), 1
    while frame is not None and (frame.f_code.co_filename.startswith("<frozen")
                                 or frame.f_code.co_filename == __file__):
        frame, level = frame.f_back, level + 1
    return level


def moved_names(module: str, moved: dict[str, str]):
    """A module ``__getattr__`` that serves names moved to another module, with a warning.

    Parameters
    ----------
    module : str
        The module the names used to live in (for the message).
    moved : dict of str to str
        Name -> the module it lives in now, or ``"module:new_name"`` for a
        name that was renamed as well.

    Examples
    --------
    >>> import warnings
    >>> getter = moved_names("smkit.example", {"Grid": "smkit.core.grid"})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     getter("Grid").__name__, str(caught[0].message)
    ('Grid', 'smkit.example.Grid moved to smkit.core.grid.Grid; import it from there (the old name goes in 0.3)')
    """

    def __getattr__(name):
        if name in moved:
            where, _, new = moved[name].partition(":")
            new = new or name
            warnings.warn(f"{module}.{name} moved to {where}.{new}; import it from there "
                          "(the old name goes in 0.3)", DeprecationWarning, stacklevel=2)
            return getattr(importlib.import_module(where), new)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__


def renamed_keywords(**renamed: str):
    """A decorator that accepts a function's old keyword names, with a warning.

    Parameters
    ----------
    **renamed : str
        Old keyword -> its new name.

    Examples
    --------
    >>> import warnings
    >>> @renamed_keywords(methods="models")
    ... def pick(*, models=None):
    ...     return models
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     pick(methods=["rf"]), str(caught[0].message)
    (['rf'], "pick(methods=...) is now pick(models=...) (the product's 'method' dimension is now 'model'; the old keyword goes in 0.3)")
    """

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for old, new in renamed.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{func.__name__}() got both {old}= and {new}=; pass {new}= only")
                    warnings.warn(f"{func.__name__}({old}=...) is now {func.__name__}({new}=...) (the "
                                  "product's 'method' dimension is now 'model'; the old keyword goes in 0.3)",
                                  DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper

    return decorate


def lazy_submodules(package: str, names):
    """A package ``__getattr__`` and ``__dir__`` that import its submodules on first use.

    ``smkit.plot.<TAB>`` then completes the submodules and ``smkit.plot.validate`` works after
    ``import smkit.plot`` alone.

    Examples
    --------
    >>> getter, lister = lazy_submodules("smkit.core", ["grid"])
    >>> getter("grid").__name__, "grid" in lister()
    ('smkit.core.grid', True)
    """
    names = list(names)

    def __getattr__(name):
        if name in names:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(names) | set(vars(sys.modules[package])))

    return __getattr__, __dir__


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())


__all__ = ["MOVED", "install", "lazy_submodules", "moved_names", "renamed_keywords"]
