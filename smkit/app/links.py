"""Panel's JavaScript-link registries, and forgetting a closed page's widgets in them.

Panel keeps the JavaScript links of a widget (the colour-range slider's
number boxes, for one) in class-level weak-key registries
(``panel.links.Callback.registry`` and ``Link.registry``) whose values hold
the keys themselves, so a widget registered there, and everything it refers
to, is never freed. :func:`forget` drops the entries of a page's widgets;
:meth:`smkit.app.explorer.Explorer.release` calls it when a session closes.
"""

from __future__ import annotations

from collections.abc import Iterable

import panel as pn
from panel.links import Callback, Link

__all__ = ["forget"]


def forget(viewables: Iterable[object]) -> int:
    """Drop the link-registry entries of these Panel objects and everything inside them.

    Parameters
    ----------
    viewables : iterable
        Any objects; the Panel viewables among them are searched with
        ``select()`` for the widgets they contain.

    Returns
    -------
    int
        Registry entries dropped.

    Examples
    --------
    >>> import panel as pn
    >>> forget([pn.widgets.EditableRangeSlider(start=0, end=1)]) >= 0
    True
    """
    mine = set()
    for value in viewables:
        if isinstance(value, pn.viewable.Viewable):
            mine.update(id(o) for o in value.select())
    dropped = 0
    for registry in (Callback.registry, Link.registry):
        for key in [k for k in list(registry.keys()) if id(k) in mine]:
            del registry[key]
            dropped += 1
    return dropped
