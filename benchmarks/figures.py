"""Figures of the benchmarks: matplotlib on the file-only Agg backend, one PNG per panel named after its title."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot() -> Any | None:
    """matplotlib.pyplot on the Agg backend, or None (with a note) when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[dev]'): no PNGs written")
        return None
    return plt


def save_panel(plt: Any, fig: Any, stem: Path, title: str) -> Path:
    """Write `fig` as `<stem>-<title as a slug>.png` beside the JSON and close it."""
    fig.tight_layout()
    slug = "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())
    path = stem.parent / f"{stem.name}-{slug}.png"
    fig.savefig(path)
    plt.close(fig)
    return path
