"""What every app shares: labelled controls, the error message, and a figure shown as a PNG
``ipywidgets.Image`` that is laid out once and then redrawn in place."""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import ipywidgets as w
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from PIL import Image

from vmbackup.plots import Chart

#: Pixels per inch of every app figure (the notebooks draw at the same ``figure.dpi``).
DPI = 80

#: Slack [pixels] a frozen layout may overflow the figure by before it is laid out again.
_OVERFLOW_PX = 1.0

Update = Callable[..., tuple[object, str, Axes | None]]


C = TypeVar("C", bound=Chart)

#: CSS class of the line that says which controls are greyed out and why.
GREYED_CLASS = "vmbackup-greyed"


@dataclass(frozen=True)
class Off:
    """A control greyed out in the current state: the one-line ``reason`` it cannot matter (or
    may not be used) there, and the ``value`` it takes meanwhile if the model needs one
    (``None``: it keeps its value)."""

    reason: str
    value: Any = None


#: An app's rules: from the controls' values, the controls that are greyed out and why.
Rules = Callable[[Mapping[str, Any]], Mapping[str, "str | Off"]]


def greyed_html(controls: Mapping[str, w.ValueWidget], greyed: Mapping[str, Off]) -> str:
    """One line per reason, naming the controls it greys out."""
    by_reason: dict[str, list[str]] = {}
    for name, off in greyed.items():
        by_reason.setdefault(off.reason, []).append(controls[name].description)
    lines = "".join(
        f"<li><b>{html.escape(', '.join(names))}</b>: {html.escape(reason)}</li>"
        for reason, names in by_reason.items()
    )
    return (
        f'<div style="color:#555;font-size:0.9em"><i>Greyed out here:</i>'
        f'<ul style="margin:0 0 0 1em;padding:0">{lines}</ul></div>'
        if lines
        else ""
    )


class Gate:
    """Applies an app's :data:`Rules`: greys out each control that cannot matter in the current
    state (disabled, its reason as tooltip and in the ``note`` line under the controls), sets
    the value a greyed-out control must take, and brings the others back to life.

    ``settle`` returns the controls' values once the rules hold; while it sets a value, the
    change it causes is ignored (``busy``), so the app computes once per move.
    """

    def __init__(self, controls: Mapping[str, w.ValueWidget], rules: Rules | None) -> None:
        self.controls, self.rules = controls, rules
        self.note = w.HTML()
        self.note.add_class(GREYED_CLASS)
        self.busy = False

    def values(self) -> dict[str, Any]:
        return {name: c.value for name, c in self.controls.items()}

    def settle(self) -> dict[str, Any]:
        values = self.values()
        if self.rules is None:
            return values
        self.busy = True
        try:
            for _ in range(len(self.controls) + 1):  # a value set by a rule may wake another
                greyed = {
                    name: off if isinstance(off, Off) else Off(off)
                    for name, off in self.rules(values).items()
                }
                moved = False
                for name, control in self.controls.items():
                    off = greyed.get(name)
                    if off is not None and off.value is not None and control.value != off.value:
                        control.value = off.value
                        moved = True
                    control.disabled = off is not None
                    control.tooltip = off.reason if off is not None else None
                values = self.values()
                if not moved:
                    break
        finally:
            self.busy = False
        self.note.value = greyed_html(self.controls, greyed)
        return values


def error_html(error: Exception) -> str:
    """The message of a model's error, ready for a widget's output area."""
    return (
        '<div style="color:#b00020;border-left:4px solid #b00020;padding:4px 8px">'
        f"<b>Input not accepted:</b> {html.escape(str(error))}</div>"
    )


class Form:
    """Builds labelled controls of one width, so every app's controls line up.

    With ``continuous=False`` a slider reports its value when it is released, not at every step
    of a drag: for apps whose update is too heavy to follow a drag.
    """

    def __init__(self, label_px: int = 200, width_px: int = 520, *, continuous: bool = True):
        self.style = {"description_width": f"{label_px}px"}
        self.width = f"{width_px}px"
        self.continuous = continuous

    def _common(self, description: str) -> dict[str, Any]:
        return {
            "description": description,
            "style": self.style,
            "layout": w.Layout(width=self.width),
        }

    def whole(
        self, description: str, value: int, low: int, high: int, step: int = 1
    ) -> w.IntSlider:
        return w.IntSlider(
            value=value,
            min=low,
            max=high,
            step=step,
            continuous_update=self.continuous,
            **self._common(description),
        )

    def real(
        self, description: str, value: float, low: float, high: float, step: float
    ) -> w.FloatSlider:
        return w.FloatSlider(
            value=value,
            min=low,
            max=high,
            step=step,
            continuous_update=self.continuous,
            **self._common(description),
        )

    def choice(self, description: str, options: tuple[Any, ...], value: Any) -> w.Dropdown:
        return w.Dropdown(options=options, value=value, **self._common(description))

    def flag(self, description: str, value: bool) -> w.Checkbox:
        return w.Checkbox(value=value, **self._common(description))


def _figure(width_in: float, height_in: float) -> Figure:
    return Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")


def new_axes(width_in: float = 10, height_in: float = 4.5) -> Axes:
    """Axes on a new figure of its own (no pyplot, so nothing is shown or kept alive)."""
    return _figure(width_in, height_in).subplots()


def _canvas(figure: Figure) -> Any:  # FigureCanvasAgg, whose methods are not typed
    canvas = figure.canvas
    return canvas if isinstance(canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)


def _encode(canvas: Any) -> bytes:
    """The last drawing of ``canvas`` as PNG bytes (RGB at zlib level 1: the figure is opaque,
    and level 1 encodes in about two thirds of the default's time, to about the same size)."""
    buffer = io.BytesIO()
    width, height = canvas.get_width_height()
    pixels = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    pixels.convert("RGB").save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def _words(artist: Artist, ax: Axes) -> tuple[str, ...] | None:
    """The texts of ``artist`` whose size can push it past the figure's edge, or None if it
    has none: the y axis's tick labels and label, a title, a legend's entries."""
    if artist is ax.yaxis:
        ticks = ax.yaxis.majorTicks
        return (ax.yaxis.label.get_text(), *(tick.label1.get_text() for tick in ticks))
    if artist is ax.title:
        return (ax.title.get_text(),)
    if isinstance(artist, Legend):
        title = artist.get_title().get_text()
        return (title, *(text.get_text() for text in artist.get_texts()))
    return None


class FigureImage(Generic[C]):
    """A chart shown as PNG in ``image``: the figure is built once and redrawn in place.

    ``chart`` is made on the figure's one set of axes (``FigureImage(BillChart, 10, 4.5)``).
    The constrained layout is computed at the first draw and then frozen, so later redraws
    neither pay for it nor make the axes jump while a slider moves; it is computed again only
    when a text grows past the figure's edge. The chart's stable artists (``Chart.stable``) are
    kept in a cached background with the figure and axes patches; a refresh restores it and
    draws only the other artists, in the order a full draw would.
    """

    def __init__(self, chart: Callable[[Axes], C], width_in: float, height_in: float) -> None:
        self.figure = _figure(width_in, height_in)
        self.ax = self.figure.subplots()
        self.chart = chart(self.ax)
        self.canvas = _canvas(self.figure)
        self.image = w.Image(format="png")
        self.layouts = 0  # how often the layout was computed: once, unless texts outgrew it
        self.backgrounds = 0  # how often the background was drawn
        self._background: Any = None
        self._background_key: tuple[int, int] = (-1, -1)
        self._checked: dict[int, tuple[str, ...]] = {}  # texts measured to fit, by artist

    def _dynamic(self) -> list[Artist]:
        """The axes' artists drawn at every refresh, in the order ``Axes.draw`` draws them."""
        ax, stable = self.ax, self.chart.stable
        children = [a for a in ax.get_children() if a is not ax.patch and a.get_visible()]
        return sorted((a for a in children if a not in stable), key=lambda a: a.get_zorder())

    def _draw_background(self, dynamic: list[Artist]) -> None:
        """Draw the figure without the dynamic artists and keep the result."""
        for artist in dynamic:
            artist.set_animated(True)  # Axes.draw leaves animated artists out
        try:
            self.canvas.draw()
        finally:
            for artist in dynamic:
                artist.set_animated(False)
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._background_key = (self.chart.stable_version, self.layouts)
        self.backgrounds += 1

    def _lay_out(self, dynamic: list[Artist]) -> None:
        self.figure.set_layout_engine("constrained")
        self.layouts += 1
        self._draw_background(dynamic)  # lays out, then draws
        self.figure.set_layout_engine("none")  # keeps the positions it found

    def _draw(self, dynamic: list[Artist]) -> None:
        renderer = self.canvas.get_renderer()
        self.canvas.restore_region(self._background)
        for artist in dynamic:
            artist.draw(renderer)

    def _overflows(self, artists: list[Artist]) -> bool:
        """Whether a text outside the data area (the y axis's labels, a title, a legend) now
        reaches past the figure's edge. Only texts that changed since they were last measured
        are measured; x tick labels sit under the axes and do not grow sideways."""
        renderer = self.canvas.get_renderer()
        width, height = self.figure.bbox.width, self.figure.bbox.height
        for artist in artists:
            words = _words(artist, self.ax)
            if words is None or self._checked.get(id(artist)) == words:
                continue
            box = artist.get_tightbbox(renderer)
            if box is not None and (
                box.x0 < -_OVERFLOW_PX
                or box.y0 < -_OVERFLOW_PX
                or box.x1 > width + _OVERFLOW_PX
                or box.y1 > height + _OVERFLOW_PX
            ):
                self._checked.clear()
                return True
            self._checked[id(artist)] = words
        return False

    def refresh(self) -> None:
        """Draw the chart as it now is and show it."""
        dynamic, measured = self._dynamic(), []
        if self.layouts == 0:
            self._lay_out(dynamic)
        elif self._background_key != (self.chart.stable_version, self.layouts):
            self._draw_background(dynamic)
            measured = list(self.chart.stable)  # a stable text may have grown too
        self._draw(dynamic)
        if self._overflows(measured + dynamic):
            self._lay_out(dynamic)
            self._draw(dynamic)
        self.image.value = _encode(self.canvas)
        self.image.layout.display = None

    def hide(self) -> None:
        """Hide the figure (while the summary shows why there is nothing to draw)."""
        self.image.layout.display = "none"


def figure_app(
    controls: Mapping[str, w.ValueWidget],
    update: Update,
    view: FigureImage[Any],
    *,
    rules: Rules | None = None,
) -> w.Box:
    """Controls on top, a summary and a figure below. On every change ``update`` gets the
    controls' values, returns (result, summary HTML, axes or None for an error) and has drawn
    into ``view``'s axes; the figure is then refreshed, or hidden on an error.

    ``rules`` greys out the controls that cannot matter in the current state, with the reason
    (see :class:`Gate`): no control of an app is ever silently dead."""
    summary = w.HTML()
    gate = Gate(controls, rules)

    def redraw(_: object = None) -> None:
        if gate.busy:
            return
        _, text, ax = update(**gate.settle())
        if ax is None:
            view.hide()
        else:
            view.refresh()
        summary.value = text  # right after the new figure, so both change on screen together

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    app = w.VBox([w.VBox(list(controls.values())), gate.note, summary, view.image])
    app.controls = controls
    app.summary = summary
    app.image = view.image
    app.view = view
    app.note = gate.note
    return app
