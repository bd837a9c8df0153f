"""The one way svrisk makes and saves a matplotlib figure (training plots, global explanations, reports).

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``,
no pyplot global state), so plotting is safe in tests and threads, never opens
a window and never depends on the display backend. Every figure uses the
constrained layout and the same resolution.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

DPI = 110


def new_figure(width: float, height: float) -> Any:
    """An empty ``matplotlib.figure.Figure`` of ``width`` x ``height`` inches."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save_png(figure: Any, path: str | Path) -> Path:
    """Write ``figure`` as a PNG file; return its path."""
    out = Path(path)
    figure.savefig(out, format="png", dpi=DPI)
    return out


def png_data_uri(figure: Any) -> str:
    """``figure`` as a ``data:image/png;base64,...`` URI, for pages that carry their images inline."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
