"""Figures and widgets of chapter 6: the four sequence mappings, trained end to end.

- :func:`draw_mappings` — the four mappings (classification, labelling, generation, translation)
  as unrolled networks, plus the single-network translator with its separator symbol.
- :func:`plot_histories` — several :class:`rnnlab.train.History` curves on one axis.
- :func:`digit_examples` — test digits with the predicted label, wrong ones marked.
- :func:`confusion_figure` — a confusion matrix with counts.
- :func:`state_accuracy_figure` — what each hidden state knows about the class, against the step.
- :func:`tagged_text` — a sentence with gold and predicted tags aligned under each word (text).
- :func:`score_bars` — grouped bars of several models' scores against a baseline.
- :func:`temperature_grid` — next-symbol distributions at several temperatures (static figure).
- :func:`temperature_explorer` — the same with a slider (ipywidgets; the book shows the grid).
- :func:`temperature_effect_figure` — measured diversity and model surprise of samples against
  the temperature.
- :func:`printable`, :func:`wrap_lines` — characters and generated text made fit to show.

Every figure function returns the matplotlib ``Figure`` and draws with :mod:`rnnlab.viz.style`.
The models and experiments of notebooks 6a-6d are in :mod:`rnnlab.experiments.ch06`.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import ipywidgets as widgets
import numpy as np

from rnnlab.scratch.losses import softmax
from rnnlab.viz.diagram import arrow, box
from rnnlab.viz.style import COLORS, new_figure

__all__ = [
    "draw_mappings", "plot_histories", "digit_examples", "confusion_figure", "tagged_text",
    "score_bars", "temperature_grid", "temperature_explorer", "temperature_effect_figure",
    "printable", "wrap_lines", "state_accuracy_figure",
]

IN, HID, OUT = COLORS["sky"], COLORS["blue"], COLORS["orange"]


# ----------------------------------------------------------------------------- the four mappings
def _chain(ax, xs, y, labels, inputs, outputs, feedback=False, color=HID):
    """Hidden cells at ``xs``; ``inputs[i]``/``outputs[i]`` a label or None. With ``feedback``,
    output ``i`` becomes input ``i + 1`` (drawn as a dashed arrow)."""
    inputs = list(inputs)
    for i, x in enumerate(xs):
        box(ax, x, y, labels[i], "#e8f1fa", look="node", edgecolor=color)
        if i:
            arrow(ax, (xs[i - 1], y), (x, y), look="node")
        fed = feedback and i > 0 and inputs[i] is None and outputs[i - 1] is not None
        label = outputs[i - 1] if fed else inputs[i]
        if label is not None:
            box(ax, x, y - 0.75, label, "#fdf3e1" if fed else "white", look="node",
                edgecolor=OUT if fed else IN)
            arrow(ax, (x, y - 0.75), (x, y), look="node")
        if fed:
            arrow(ax, (xs[i - 1], y + 0.75), (x, y - 0.75), look="node", color=OUT, dashed=True)
        if outputs[i] is not None:
            box(ax, x, y + 0.75, outputs[i], look="node", edgecolor=OUT)
            arrow(ax, (x, y), (x, y + 0.75), look="node")


def draw_mappings():
    """Five small panels: classification (many to one), labelling (many to many, aligned),
    generation (one to many, each output fed back), encoder–decoder translation, and the single
    network that reads until a separator and then writes."""
    fig, axes = new_figure(1, 5, figsize=(14.0, 2.9),
                           gridspec_kw={"width_ratios": [3.2, 3.2, 3.2, 5.0, 4.0]})
    xs4 = [0, 0.8, 1.6, 2.4]
    h = ["h"] * 4
    _chain(axes[0], xs4, 0, h, ["x1", "x2", "x3", "x4"], [None, None, None, "y"])
    axes[0].set_title("classification\nmany → one")
    _chain(axes[1], xs4, 0, h, ["x1", "x2", "x3", "x4"], ["y1", "y2", "y3", "y4"])
    axes[1].set_title("labelling\nmany → many, aligned")
    _chain(axes[2], xs4, 0, h, ["c", None, None, None], ["y1", "y2", "y3", "y4"], feedback=True)
    axes[2].set_title("generation\none → many (outputs fed back)")
    ax = axes[3]
    _chain(ax, [0, 0.8, 1.6], 0, ["e"] * 3, ["x1", "x2", "x3"], [None] * 3)
    _chain(ax, [2.6, 3.4, 4.2], 0, ["d"] * 3, ["<s>", None, None], ["y1", "y2", "y3"],
           feedback=True, color=COLORS["green"])
    arrow(ax, (1.6, 0), (2.6, 0), look="node", color=COLORS["green"])
    ax.text(2.1, 0.18, "state", ha="center", fontsize=7, color=COLORS["green"])
    ax.set_title("translation: encoder → decoder\nlast state starts the decoder")
    ax = axes[4]
    _chain(ax, [0, 0.8, 1.6, 2.4, 3.2], 0, ["h"] * 5, ["x1", "x2", "=", None, None],
           [None, None, "y1", "y2", "y3"], feedback=True)
    ax.set_title("one network with a separator\nread until '=', then write")
    for ax, right in zip(axes, (2.8, 2.8, 2.8, 4.6, 3.6)):
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_xlim(-0.4, right)
        ax.set_ylim(-1.1, 1.1)
    return fig


# ----------------------------------------------------------------------------- training curves
def plot_histories(histories: Mapping[str, object], name: str = "loss", *, ax=None, title: str = "",
                   ylabel: str | None = None, logy: bool = True, target: float | None = None,
                   smooth: int = 0):
    """Curves of metric ``name`` of several histories (``{label: History}``) on one axis.

    ``smooth`` > 0 draws the running mean of the per-step training loss (``name="loss"``).
    """
    if ax is None:
        fig, ax = new_figure()
    else:
        fig = ax.figure
    for label, hist in histories.items():
        if name == "loss" and smooth:
            xs, ys = hist.steps, hist.smoothed_loss(smooth)
        else:
            xs, ys = hist.metric(name)
        ax.plot(xs, ys, label=label)
    if target is not None:
        ax.axhline(target, color=COLORS["grey"], linestyle=":", linewidth=1.2, label="target")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(ylabel or name)
    if title:
        ax.set_title(title)
    ax.legend()
    return fig


# ----------------------------------------------------------------------------- classification
def digit_examples(images: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, *, title: str = "",
                   ncols: int = 10):
    """A row of digit images with "true → predicted" captions; mistakes get a red frame."""
    images = np.asarray(images)
    n = len(images)
    nrows = int(np.ceil(n / ncols))
    fig, axes = new_figure(nrows, ncols, figsize=(1.1 * ncols, 1.35 * nrows), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k >= n:
            continue
        ax.imshow(images[k].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        wrong = int(y_true[k]) != int(y_pred[k])
        ax.set_title(f"{int(y_true[k])} → {int(y_pred[k])}", fontsize=9,
                     color=COLORS["red"] if wrong else "black")
        if wrong:
            ax.axis("on")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for s in ax.spines.values():
                s.set_visible(True)
                s.set_color(COLORS["red"])
                s.set_linewidth(2.5)
    if title:
        fig.suptitle(title)
    return fig


def confusion_figure(y_true, y_pred, labels: Sequence[str], *, title: str = "", ax=None):
    """Confusion matrix (rows: true class, columns: predicted) with the counts written in."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    k = len(labels)
    m = np.zeros((k, k), dtype=int)
    np.add.at(m, (y_true, y_pred), 1)
    if ax is None:
        fig, ax = new_figure(figsize=(4.6, 4.0))
    else:
        fig = ax.figure
    ax.imshow(np.log1p(m), cmap="Blues")
    ax.grid(False)
    for i in range(k):
        for j in range(k):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if m[i, j] > m.max() / 3 else "black")
    ax.set_xticks(range(k), labels, rotation=45 if max(map(len, labels)) > 2 else 0, ha="right"
                  if max(map(len, labels)) > 2 else "center")
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    return fig


# ----------------------------------------------------------------------------- labelling
def tagged_text(words: Sequence[str], rows: Mapping[str, Sequence[str]], mark: str | None = None) -> str:
    """Words with one line of tags per entry of ``rows`` (``{"gold": tags, "uni": tags}``), aligned
    in columns. With ``mark`` naming a row, its tags that differ from the first row get a ``*``."""
    names = list(rows)
    ref = rows[names[0]]
    cells = [list(words)]
    for name in names:
        tags = list(rows[name])
        if mark == name:
            tags = [t + ("*" if t != r else "") for t, r in zip(tags, ref)]
        cells.append(tags)
    widths = [max(len(c[i]) for c in cells) for i in range(len(words))]
    label_w = max(len("words"), *(len(n) for n in names))
    lines = []
    for label, cs in zip(["words"] + names, cells):
        lines.append(f"{label:<{label_w}} | " + " ".join(f"{c:<{w}}" for c, w in zip(cs, widths)).rstrip())
    return "\n".join(lines)


def score_bars(scores: Mapping[str, Mapping[str, float]], *, title: str = "", ylabel: str = "score",
               ylim: tuple[float, float] = (0.0, 1.05)):
    """Grouped bars: ``scores[model][metric]``; one group per metric, one colour per model."""
    models = list(scores)
    metrics = list(next(iter(scores.values())))
    fig, ax = new_figure(figsize=(6.4, 3.4))
    width = 0.8 / len(models)
    hatches = ["", "//", "..", "xx", "\\\\"]
    palette = [COLORS["grey"], COLORS["orange"], COLORS["blue"], COLORS["green"], COLORS["purple"]]
    for i, m in enumerate(models):
        xs = np.arange(len(metrics)) + (i - (len(models) - 1) / 2) * width
        vals = [scores[m][k] for k in metrics]
        bars = ax.bar(xs, vals, width * 0.95, label=m, color=palette[i % 5], hatch=hatches[i % 5],
                      edgecolor="black", linewidth=0.5)
        for b, v in zip(bars, vals):
            ax.text(b.get_x() + b.get_width() / 2, v + 0.01, f"{v:.2f}", ha="center", va="bottom",
                    fontsize=7)
    ax.set_xticks(range(len(metrics)), metrics)
    ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel)
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title)
    return fig


# ----------------------------------------------------------------------------- generation
def printable(ch: str) -> str:
    """A visible name for a character in plots: ``'\\n'`` → ``'⏎'``, space → ``'␣'``, tab → ``'⇥'``."""
    return {"\n": "⏎", " ": "␣", "\t": "⇥"}.get(ch, ch)


def wrap_lines(text: str, width: int = 88) -> str:
    """``text`` with trailing spaces dropped and every line longer than ``width`` cut into
    pieces that fit, each piece after the first starting with ``↪`` (so that printed
    samples fit the book's page)."""
    if not isinstance(width, int) or width < 2:
        raise ValueError(f"width must be an int >= 2, got {width!r}")
    out = []
    for line in text.split("\n"):
        line = line.rstrip()
        out.append(line[:width])
        rest = range(width, len(line), width - 1)
        out += ["↪" + line[i:i + width - 1] for i in rest]
    return "\n".join(out)


def _check_next_symbol_args(logits, chars, temperatures, top) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 1 or logits.size < 2:
        raise ValueError(f"logits must be the scores of the next symbol, shape (V,) with V >= 2, "
                         f"got shape {logits.shape}")
    if len(chars) != logits.size:
        raise ValueError(f"chars must name every symbol: len(chars) = {len(chars)}, but logits has "
                         f"V = {logits.size} entries")
    for t in temperatures:
        if not (isinstance(t, (int, float)) and np.isfinite(t) and t > 0):
            raise ValueError(f"temperatures must be positive finite numbers, got {t!r}")
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise ValueError(f"top must be a positive int (how many symbols to show), got {top!r}")
    return logits


def _bars(ax, logits, chars, t, top):
    p = softmax(np.asarray(logits, dtype=np.float64) / t)
    order = np.argsort(-np.asarray(logits, dtype=np.float64), kind="stable")[:top]
    ax.bar(range(top), p[order], color=COLORS["blue"], edgecolor="black", linewidth=0.4)
    ax.set_xticks(range(top), [printable(chars[i]) for i in order], fontsize=8)
    ax.set_ylim(0, 1)
    rest = 1 - p[order].sum()
    ax.set_title(f"temperature {t:g}  (other symbols: {rest:.2f})", fontsize=9)


def temperature_grid(logits: np.ndarray, chars: str, temperatures: Sequence[float] = (0.25, 0.5, 1.0, 2.0),
                     *, context: str = "", top: int = 10):
    """The next-symbol distribution ``softmax(logits / T)`` at several temperatures, the ``top``
    most likely symbols (at T = 1) as bars. ``logits`` (V,); ``chars[i]`` names symbol ``i``."""
    logits = _check_next_symbol_args(logits, chars, temperatures, top)
    top = min(top, logits.size)
    fig, axes = new_figure(1, len(temperatures), figsize=(3.0 * len(temperatures), 2.8), sharey=True)
    for ax, t in zip(np.atleast_1d(axes), temperatures):
        _bars(ax, logits, chars, t, top)
    np.atleast_1d(axes)[0].set_ylabel("probability")
    shown = context[-30:].replace("\n", "⏎")
    fig.suptitle(f"Next character after '…{shown}': low temperature sharpens, high flattens")
    return fig


def temperature_explorer(logits: np.ndarray, chars: str, sample: Callable[[float], str] | None = None,
                         *, context: str = "", top: int = 10):
    """A slider for the temperature that redraws :func:`temperature_grid`'s bars for one T and, if
    ``sample(T) -> str`` is given, prints a sample drawn at that temperature. Live in Jupyter only;
    the book shows :func:`temperature_grid` instead."""
    # deferred: pyplot fixes its backend on import (see style.new_figure)
    import matplotlib.pyplot as plt

    logits = _check_next_symbol_args(logits, chars, (), top)
    top = min(top, logits.size)
    slider = widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=0.6, step=0.02,
                                    description="temperature", continuous_update=False)
    out = widgets.Output()

    def redraw(change=None):
        with out:
            out.clear_output(wait=True)
            fig, ax = new_figure(figsize=(5.5, 2.8))
            _bars(ax, logits, chars, slider.value, top)
            ax.set_ylabel("probability")
            plt.show()
            if sample is not None:
                print(sample(slider.value))

    slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([slider, out])


def temperature_effect_figure(temperatures: Sequence[float], surprise_bits: Sequence[float],
                              distinct: Sequence[float], *, reference_bits: float | None = None):
    """Two measured effects of the temperature on generated text: how surprising the text is to
    the model itself (bits per character at T = 1) and its diversity (``distinct``: the share of
    distinct 8-character strings among all of them)."""
    fig, (a, b) = new_figure(1, 2, figsize=(9.0, 3.2))
    a.plot(temperatures, surprise_bits, marker="o")
    if reference_bits is not None:
        a.axhline(reference_bits, color=COLORS["grey"], linestyle=":", label="held-out real text")
        a.legend()
    a.set_xlabel("sampling temperature")
    a.set_ylabel("model's bits per char of the sample")
    a.set_title("Surprise of the samples to the model")
    b.plot(temperatures, distinct, marker="s", color=COLORS["orange"])
    b.set_xlabel("sampling temperature")
    b.set_ylabel("distinct 8-char strings / all")
    b.set_title("Low temperature repeats itself")
    return fig


def state_accuracy_figure(probe: Sequence[float], head: Sequence[float], *, title: str = ""):
    """Accuracy against the number of rows read: a probe fitted per step, and the final head."""
    probe, head = np.asarray(probe, dtype=float), np.asarray(head, dtype=float)
    if probe.ndim != 1 or probe.shape != head.shape:
        raise ValueError(f"probe and head must be (T,) arrays of one length, got {probe.shape} and "
                         f"{head.shape}")
    steps = np.arange(1, len(probe) + 1)
    fig, ax = new_figure(figsize=(5.8, 3.3))
    ax.plot(steps, probe, marker="o", color=COLORS["blue"],
            label="a probe fitted on $h_t$ (what $h_t$ knows)")
    ax.plot(steps, head, marker="s", linestyle="--", color=COLORS["orange"],
            label="the trained head applied to $h_t$")
    ax.set_xlabel("rows read (time step t)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
