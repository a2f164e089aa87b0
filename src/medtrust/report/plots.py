"""Matplotlib figures embedded in reports as inline PNG images."""

from __future__ import annotations

import base64
import html
import io


def new_figure(width: float = 6.0, height: float = 4.0):
    """A figure and axes on the non-interactive Agg backend."""
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt.subplots(figsize=(width, height), dpi=110)


def figure_html(fig, alt: str) -> str:
    """The figure as an <img> with a base64 PNG; the figure is closed."""
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img class="plot" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def image_file_html(path, alt: str, max_width: int = 240) -> str:
    """An image file inlined as a data URL (thumbnails of inputs such as attack images)."""
    from pathlib import Path
    p = Path(path)
    kind = "jpeg" if p.suffix.lower() in (".jpg", ".jpeg") else "png"
    data = base64.b64encode(p.read_bytes()).decode()
    return (f'<img class="thumb" style="max-width:{max_width}px" alt="{html.escape(alt)}" '
            f'src="data:image/{kind};base64,{data}">')


def thumbnail_data_url(path, max_side: int = 160) -> str | None:
    """A small JPEG data URL of an image file (None if it cannot be read): report thumbnails."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            img.thumbnail((max_side, max_side))
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=80)
    except (OSError, ValueError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
