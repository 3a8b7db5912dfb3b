"""The chapter map on the book's home page: which chapter builds on which, and where the appendices sit.

:func:`draw_chapter_map` returns the figure; :func:`main` writes it to ``book/figures/chapter_map.png``
(run it from the repository root after changing the map)::

    .venv/bin/python -m rnnlab.viz.chapter_map

The dependencies are data (:data:`CHAPTERS`, :data:`DEPENDS_ON`, :data:`APPENDICES`) so that a test
can compare them with the book, and the figure is drawn from them with :mod:`rnnlab.viz.style`.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import NamedTuple, Sequence

import matplotlib

from rnnlab.viz.diagram import arrow, box
from rnnlab.viz.style import COLORS, new_figure

__all__ = ["CHAPTERS", "DEPENDS_ON", "ALSO_USES", "APPENDICES", "DEFAULT_OUTPUT", "draw_chapter_map",
           "save_chapter_map", "main"]

#: Where :func:`main` writes the figure, relative to the repository root.
DEFAULT_OUTPUT = Path("book") / "figures" / "chapter_map.png"


class Node(NamedTuple):
    label: str        # text in the box ("\n" breaks lines)
    x: float          # centre, in the map's coordinates (0..12 wide, 0..5 high)
    y: float
    color: str        # key of rnnlab.viz.style.COLORS


#: The pages of the book drawn as boxes, keyed by chapter number ("0" is the set-up page).
CHAPTERS: dict[str, Node] = {
    "0": Node("Setting up", 1.0, 3.0, "grey"),
    "1": Node("1  Recurrent\nnetworks", 3.0, 3.0, "blue"),
    "2": Node("2  Backprop.\nthrough time", 5.0, 3.0, "blue"),
    "3": Node("3  LSTM\n(+ 3b)", 6.9, 4.15, "green"),
    "4": Node("4  GRU", 8.95, 4.15, "green"),
    "5": Node("5  Bidirectional\n& deep (+ 5b)", 8.0, 1.95, "orange"),
    "6": Node("6  Sequence\ntasks (6a–6e)", 10.95, 3.0, "red"),
    "7": Node("7  Parallel\nscans (+ 7b, 7c)", 11.05, 4.2, "purple"),
}

#: ``(before, after)``: chapter ``after`` uses what chapter ``before`` builds.
DEPENDS_ON: tuple[tuple[str, str], ...] = (
    ("0", "1"),
    ("1", "2"),
    ("2", "3"),
    ("3", "4"),
    ("2", "5"),
    ("3", "6"),
    ("4", "6"),
    ("5", "6"),
    ("4", "7"),
)

#: ``(before, after)``: chapter ``after`` runs its examples with what chapter ``before`` builds, without
#: depending on its theory (drawn dashed): chapter 5's bidirectional and stacked layers are LSTMs.
ALSO_USES: tuple[tuple[str, str], ...] = (("3", "5"),)

#: The appendices, in the order of the table of contents; any chapter may send the reader there.
APPENDICES: tuple[str, ...] = ("Notation", "Glossary", "Gradient\nchecking", "TensorFlow\nnames",
                               "For\ninstructors", "References")

_BOX_W, _BOX_H = 1.75, 0.82
_APPENDIX_W, _APPENDIX_H, _APPENDIX_Y = 1.6, 0.62, 0.55


def _edge_point(centre: tuple[float, float], toward: tuple[float, float], w: float, h: float):
    """Where the segment from ``centre`` to ``toward`` leaves a ``w`` x ``h`` box around ``centre``."""
    dx, dy = toward[0] - centre[0], toward[1] - centre[1]
    scales = [s for s in ((w / 2) / abs(dx) if dx else None, (h / 2) / abs(dy) if dy else None)
              if s is not None]
    scale = min(scales) * 1.04  # a small gap between the arrow and the box
    return centre[0] + dx * scale, centre[1] + dy * scale


def draw_chapter_map():
    """Draw the chapter map and return the matplotlib ``Figure``.

    Boxes are pages (colour: the trunk 1–2 blue, the gated cells 3–4 green, the architectures of 5
    orange, the applications of 6 red, the parallel recurrences of 7 purple); an arrow ``A -> B``
    means that chapter B uses what chapter A builds (:data:`DEPENDS_ON`), a dashed grey one that B
    runs its examples with A's model (:data:`ALSO_USES`). The appendices form a row underneath.
    """
    fig, ax = new_figure(figsize=(8.0, 4.0))
    ax.set_xlim(0.0, 12.0)
    ax.set_ylim(0.0, 5.0)
    ax.set_axis_off()

    for before, after in DEPENDS_ON:
        a, b = CHAPTERS[before], CHAPTERS[after]
        start = _edge_point((a.x, a.y), (b.x, b.y), _BOX_W, _BOX_H)
        end = _edge_point((b.x, b.y), (a.x, a.y), _BOX_W, _BOX_H)
        arrow(ax, start, end, look="page", dashed=before == "0",
              color=COLORS["grey"] if before == "0" else COLORS["black"])
    for before, after in ALSO_USES:
        a, b = CHAPTERS[before], CHAPTERS[after]
        start = _edge_point((a.x, a.y), (b.x, b.y), _BOX_W, _BOX_H)
        end = _edge_point((b.x, b.y), (a.x, a.y), _BOX_W, _BOX_H)
        arrow(ax, start, end, look="page", color=COLORS["grey"], dashed=True)
        ax.text((start[0] + end[0]) / 2 + 0.12, (start[1] + end[1]) / 2, "uses the LSTM", ha="left",
                va="center", fontsize=8.5, color=COLORS["grey"])
    for key, node in CHAPTERS.items():
        box(ax, node.x, node.y, node.label, look="page", edgecolor=COLORS[node.color], w=_BOX_W,
            h=_BOX_H, dashed=key == "0")

    # The appendices: one row, evenly spread under the chapters, with a bracket and a label.
    left, right = 0.2 + _APPENDIX_W / 2, 11.8 - _APPENDIX_W / 2
    step = (right - left) / (len(APPENDICES) - 1)
    for i, label in enumerate(APPENDICES):
        box(ax, left + i * step, _APPENDIX_Y, label, look="page", edgecolor=COLORS["grey"],
            w=_APPENDIX_W, h=_APPENDIX_H, fontsize=8.5)
    top = _APPENDIX_Y + _APPENDIX_H / 2 + 0.12
    ax.plot([0.2, 11.8], [top, top], color=COLORS["grey"], linewidth=1.0, linestyle=":", zorder=1)
    ax.text(0.2, top + 0.1, "Appendices: look things up from any chapter", ha="left", va="bottom",
            fontsize=8.5, color=COLORS["grey"], style="italic")
    ax.text(0.2, 4.95, "arrow A → B: chapter B uses what chapter A builds", ha="left", va="top",
            fontsize=8.5, color=COLORS["grey"])

    ax.set_title("Chapters 1–2 are the trunk; 3, 4 and 5 branch off and meet again in chapter 6",
                 loc="left")
    return fig


def save_chapter_map(path: str | Path, *, dpi: int = 150) -> Path:
    """Draw the chapter map and save it as a PNG at ``path`` (its folder must exist)."""
    # deferred: pyplot fixes its backend on import (see style.new_figure)
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path must end in .png, got {str(path)!r}")
    if not path.parent.is_dir():
        raise ValueError(f"path's folder does not exist: {str(path.parent)!r}")
    fig = draw_chapter_map()
    try:
        # No "Software" entry: the file then does not change with the matplotlib version.
        fig.savefig(path, dpi=dpi, metadata={"Software": None})
    finally:
        plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rnnlab.viz.chapter_map [PATH]``: write the chapter map (default: the book's copy)."""
    matplotlib.use("Agg")
    parser = argparse.ArgumentParser(prog="python -m rnnlab.viz.chapter_map",
                                     description="Draw the book's chapter map as a PNG.")
    parser.add_argument("path", nargs="?", default=str(DEFAULT_OUTPUT),
                        help=f"where to write it (default: {DEFAULT_OUTPUT}, run from the repository root)")
    args = parser.parse_args(argv)
    written = save_chapter_map(args.path)
    print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
