"""The package's layering rules, checked on its source (see CONTRIBUTING.md)."""

import ast
from pathlib import Path

import smkit

SOURCES = sorted(Path(smkit.__file__).parent.glob("*.py"))


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("smkit"):
            yield node.module, [a.name for a in node.names]


def test_no_module_imports_another_modules_private_names():
    offences = [f"{p.name}: from {mod} import {name}" for p in SOURCES for mod, names in _imports(p)
                for name in names if name.startswith("_") and name != "__version__"]
    assert not offences, offences


def test_vocabulary_is_defined_once():
    # the shared names live in smkit.vocabulary; other modules import them, never redefine them
    from smkit import vocabulary

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
