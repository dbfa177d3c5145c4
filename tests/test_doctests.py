"""Every docstring example of the package runs and shows what it says (NumPy-style ``Examples``)."""

import doctest
import importlib
import pkgutil

import pytest

import smkit

MODULES = ["smkit", *sorted(m.name for m in pkgutil.walk_packages(smkit.__path__, "smkit."))]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed"
