"""The package's layering rules, checked on its source (see CONTRIBUTING.md)."""

import ast
from pathlib import Path

import smkit

SOURCES = sorted(Path(smkit.__file__).parent.rglob("*.py"))


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("smkit"):
            yield node.module, [a.name for a in node.names]


def test_no_module_imports_another_modules_private_names():
    offences = [f"{p.name}: from {mod} import {name}" for p in SOURCES for mod, names in _imports(p)
                for name in names if name.startswith("_") and name != "__version__"]
    assert not offences, offences


def test_vocabulary_is_defined_once():
    # the shared names live in smkit.core.vocabulary; other modules import them, never redefine them
    from smkit.core import vocabulary

    shared = set(vocabulary.__all__)
    offences = []
    for p in SOURCES:
        if p.name == "vocabulary.py":
            continue
        for node in ast.parse(p.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for t in targets:
                if isinstance(t, ast.Name) and t.id in shared and not isinstance(node.value, ast.Name):
                    offences.append(f"{p.name}: {t.id}")
    assert not offences, offences


def test_engine_options_are_written_once():
    # Config's fields are the options; downscale takes them as **options, never as its own keywords
    import inspect

    from smkit.engine import OPTIONS, downscale, downscale_variants

    for func in (downscale, downscale_variants):
        own = set(inspect.signature(func).parameters)
        assert not own & set(OPTIONS), (func.__name__, sorted(own & set(OPTIONS)))


def test_every_moved_module_still_imports_from_its_old_place_with_a_warning():
    import importlib
    import sys
    import warnings

    from smkit._compat import MOVED

    for old, new in MOVED.items():
        sys.modules.pop(old, None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            alias = importlib.import_module(old)
        assert any(w.category is DeprecationWarning and new in str(w.message) for w in caught), old
        target = importlib.import_module(new)
        public = [n for n in dir(target) if not n.startswith("_")]
        assert public and all(getattr(alias, n) is getattr(target, n) for n in public), old


def test_the_package_folder_shows_the_pipeline():
    # one subpackage per stage; at the top only the CLI, the package's front and the old-path shim
    root = Path(smkit.__file__).parent
    stages = {p.name for p in root.iterdir() if (p / "__init__.py").exists()}
    assert stages == {"core", "synth", "readers", "engine", "bma", "validate", "analysis", "plot", "workflow",
                      "app"}
    assert {p.name for p in root.glob("*.py")} == {"__init__.py", "_compat.py", "cli.py"}
