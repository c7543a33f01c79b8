"""Static fallbacks for the HTML book: a figure stepped through frames, with a JS slider.

A live ipywidgets demo needs a kernel; the built book has none. :func:`jshtml` redraws one
figure for each frame (the same ``draw`` code the live widget uses) and embeds the frames
with matplotlib's ``Animation.to_jshtml``, whose play/step buttons and slider work in any
browser.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

__all__ = ["jshtml"]


def jshtml(fig: Figure, draw: Callable[[Any], None], frames: Sequence[Any], *,
           interval: int = 400, embed_limit_mb: float = 20.0) -> str:
    """HTML of a JavaScript animation of ``fig`` with ``draw(frame)`` applied per frame.

    Args:
        fig: the figure whose artists ``draw`` updates in place.
        draw: called once per frame with that frame's value.
        frames: the frame values (keep it short: each frame is one embedded PNG).
        interval: milliseconds between frames when playing.
        embed_limit_mb: matplotlib's size cap for the embedded frames.
    Returns:
        An HTML string (display it with ``IPython.display.HTML``).
    """
    frames = list(frames)
    if not frames:
        raise ValueError("jshtml needs at least one frame")
    import matplotlib

    anim = FuncAnimation(fig, lambda i: draw(frames[i]), frames=len(frames),
                         interval=interval, blit=False, repeat=False)
    with matplotlib.rc_context({"animation.embed_limit": embed_limit_mb}):
        html = anim.to_jshtml(default_mode="once")
    # matplotlib links Font Awesome from a CDN for its buttons; the book must work offline,
    # and the book's theme already ships the icons.
    html = re.sub(r"<link[^>]*font-awesome[^>]*>", "", html)
    # the last frame leaves the figure as the live widget would show it
    draw(frames[-1])
    return html
