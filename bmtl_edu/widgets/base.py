"""``FigureDemo``: a matplotlib figure redrawn from a few ipywidgets controls.

Every demo of the book follows one pattern: a handful of sliders, a cheap computation
(closed forms or precomputed tables, never training) and a figure whose artists are
updated in place and re-rendered to a PNG shown in an ``ipywidgets.Image``. Rendering a
small Agg figure costs ~20-40 ms, so one slider change stays well under the 0.1 s the book
promises. Only the artists that move are redrawn (Agg blitting over a cached background of
axes, ticks and labels), the frame is encoded as JPEG (PNG's zlib alone costs 15-25 ms)
and changing text goes to an HTML caption under the figure instead of into it (rendering
one line of text in Agg costs ~20 ms on a busy 2-core machine). The same ``draw`` code also produces the static fallback for the HTML book
(:meth:`FigureDemo.animate`), so the live and the static demo can never disagree.
"""
from __future__ import annotations

import io
import time
from typing import Any, Iterable

import ipywidgets as widgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage

__all__ = ["FigureDemo", "TASK_COLOURS"]

#: one colour per task, shared by every demo so task 3 looks the same in every chapter
TASK_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
                "tab:pink", "tab:gray")


class FigureDemo:
    """Base class: ``controls`` (name -> ipywidgets value widget) drive ``draw(**values)``.

    Subclasses build their artists in ``setup()`` (called once, on ``self.fig``) and move
    them in ``draw(**values)``; they never create new figures per change. Artists that
    change are registered with :meth:`dynamic` (drawn on top of the cached background);
    when something static changes (axis limits), ``draw`` calls :meth:`invalidate`.
    ``draw`` puts its changing text in ``self.caption``: HTML under the live figure, the
    figure's suptitle in the static fallback (:meth:`animate`).

    Attributes:
        fig: the :class:`matplotlib.figure.Figure` (not managed by pyplot).
        controls: name -> control widget (sliders, dropdowns ...).
        image: the ``ipywidgets.Image`` holding the latest frame (JPEG).
        widget: the assembled ``ipywidgets.VBox`` (controls + image + status line).
        state: what the last ``draw`` computed (numbers a test or a reader can inspect).
        last_update_s: seconds the last change took (compute + render).
    """

    def __init__(self, controls: dict[str, widgets.ValueWidget], *, figsize=(7.0, 3.2),
                 dpi: int = 72, title: str | None = None):
        if not controls:
            raise ValueError("a FigureDemo needs at least one control")
        self.controls = dict(controls)
        self.fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        self.canvas = FigureCanvasAgg(self.fig)
        self._dynamic: list = []
        self.caption = ""
        self._background = None
        self.state: dict[str, Any] = {}
        self.last_update_s = float("nan")
        self.setup()
        self._suptitle = self.fig.suptitle("caption", fontsize=9)
        self.image = widgets.Image(format="jpeg", layout=widgets.Layout(width="auto"))
        self.status = widgets.HTML()
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        boxes = [widgets.HTML(f"<b>{title}</b>")] if title else []
        self.widget = widgets.VBox(boxes + [widgets.HBox(list(self.controls.values()),
                                                          layout=widgets.Layout(flex_flow="row wrap")),
                                             self.image, self.status])
        self.widget.demo = self  # lets a test or a reader reach the demo from the widget
        # lay the figure out once, then freeze it: constrained layout on every redraw would
        # cost more than the whole rest of an update
        self.draw(**self.values)
        self.fig.draw_without_rendering()
        self.fig.set_layout_engine("none")
        self._suptitle.set_visible(False)
        self.refresh()

    # -- to implement --------------------------------------------------------------------
    def setup(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def draw(self, **values) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- machinery -----------------------------------------------------------------------
    def dynamic(self, *artists):
        """Mark artists as moving: redrawn on every update over the cached background."""
        for a in artists:
            a.set_animated(True)
            self._dynamic.append(a)
        return artists[0] if len(artists) == 1 else artists

    def forget(self, artist) -> None:
        """Remove a dynamic artist from the figure (e.g. a fill recreated per update)."""
        if artist in self._dynamic:
            self._dynamic.remove(artist)
        artist.remove()

    def invalidate(self) -> None:
        """The static background changed (limits, labels): re-render it at the next update."""
        self._background = None

    @property
    def values(self) -> dict[str, Any]:
        return {name: c.value for name, c in self.controls.items()}

    def _on_change(self, _change=None) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Recompute, redraw and re-render from the current control values."""
        start = time.perf_counter()
        self.draw(**self.values)
        self.image.value = self.frame()
        self.last_update_s = time.perf_counter() - start
        self.status.value = (f"{self.caption} <small style='color:gray'>"
                             f"(updated in {1000 * self.last_update_s:.0f} ms)</small>")

    def frame(self) -> bytes:
        """The current figure as JPEG bytes (cached background + dynamic artists)."""
        if self._background is None:
            self.canvas.draw()  # animated (dynamic) artists are skipped here
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        self.canvas.restore_region(self._background)
        for artist in self._dynamic:
            self.fig.draw_artist(artist)
        w, h = self.canvas.get_width_height()
        img = PILImage.frombuffer("RGBA", (w, h), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buf = io.BytesIO()
        img.convert("RGB").save(buf, format="jpeg", quality=92)
        return buf.getvalue()

    def set(self, **values) -> None:
        """Set several controls at once with a single redraw (unknown names raise KeyError)."""
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise KeyError(f"unknown control(s) {unknown}; valid: {sorted(self.controls)}")
        for name, value in values.items():
            self.controls[name].unobserve(self._on_change, names="value")
            try:
                self.controls[name].value = value
            finally:
                self.controls[name].observe(self._on_change, names="value")
        self.refresh()

    def animate(self, control: str, values: Iterable, *, interval: int = 400, **fixed) -> str:
        """Static fallback: a JavaScript-slider animation (HTML) stepping one control.

        The other controls keep their current values unless given in ``fixed``. Returns the
        HTML of matplotlib's ``to_jshtml``; wrap it in ``IPython.display.HTML``.
        """
        from ..figures.animation import jshtml  # figures sit beside widgets; import on use

        if control not in self.controls:
            raise KeyError(f"unknown control {control!r}; valid: {sorted(self.controls)}")
        base = {**self.values, **fixed}
        frames = [{**base, control: v} for v in values]

        def draw(vals):
            self.draw(**vals)
            self._suptitle.set_text(self.caption)

        self._suptitle.set_visible(True)
        try:
            return jshtml(self.fig, draw, frames, interval=interval)
        finally:
            self._suptitle.set_visible(False)
            self.refresh()  # back to the controls' state

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
