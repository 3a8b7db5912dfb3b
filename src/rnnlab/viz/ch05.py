"""Figures of chapter 5: bidirectional and deep recurrent networks, variable-length batches.

- :func:`draw_bidirectional` — the unrolled bidirectional network: a forward chain with weights
  U, W, V and a backward chain with its own U', W', V', both feeding every output.
- :func:`draw_output_hn_layout` — which cells of a ``num_layers x num_directions`` network end up in
  ``output`` and which in ``h_n`` (and at which step each direction's final state lives).
- :func:`plot_padding_damage` — where a bidirectional layer run on a padded batch without packing
  departs from the per-sequence truth.
- :func:`plot_accuracy_curves`, :func:`plot_accuracy_bars` — the chapter's experiment.

The experiment of ``05b_direction_depth`` itself (the taggers, their training and the text report)
is :mod:`rnnlab.experiments.ch05`; :func:`rnnlab.experiments.ch05.tagger_curves` turns its runs
into what :func:`plot_accuracy_curves` draws.

Every figure function returns the matplotlib ``Figure`` and draws with :mod:`rnnlab.viz.style`.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from matplotlib.colors import LogNorm
from matplotlib.patches import Rectangle
import numpy as np

from rnnlab._args import check_int
from rnnlab.viz.diagram import arrow, box
from rnnlab.viz.style import COLORS, new_figure

__all__ = [
    "draw_bidirectional",
    "draw_output_hn_layout",
    "plot_padding_damage",
    "plot_accuracy_curves",
    "plot_accuracy_bars",
]

FWD = COLORS["blue"]
BWD = COLORS["orange"]
GREY = COLORS["grey"]


def draw_bidirectional(seq_len: int = 4):
    """The unrolled bidirectional RNN of eq. (bi-forward)-(bi-output) for ``seq_len`` steps.

    Bottom row: inputs ``x_t``. Blue row: forward states ``h_t`` (weights U, W), computed left to
    right from ``h_0 = 0``. Orange row: backward states ``h'_t`` (weights U', W'), computed right to
    left from ``h'_{T+1} = 0``. Top row: outputs ``y_t``, which see ``h_t`` through V and ``h'_t``
    through V'. Returns the figure.
    """
    T = check_int("seq_len", seq_len, 2, 8)
    fig, ax = new_figure(figsize=(1.55 * T + 1.6, 4.1))
    ax.set_axis_off()
    ax.grid(False)
    xs = np.arange(1, T + 1) * 1.5
    Y_X, Y_F, Y_B, Y_Y = 0.0, 1.25, 2.35, 3.6
    off = 0.16  # the forward chain sits a little left, the backward one a little right
    for t, x in enumerate(xs, start=1):
        box(ax, x, Y_X, f"$x_{{{t}}}$", look="outline", edgecolor=GREY)
        box(ax, x - off, Y_F, f"$h_{{{t}}}$", "#e5f0f7", look="outline", edgecolor=FWD)
        box(ax, x + off, Y_B, f"$h'_{{{t}}}$", "#fbf1dc", look="outline", edgecolor=BWD)
        box(ax, x, Y_Y, f"$y_{{{t}}}$", look="outline", edgecolor=COLORS["black"])
        first = t == 1
        # the input feeds both directions; the backward arrow passes right of the forward box
        arrow(ax, (x - 0.3, Y_X + 0.21), (x - 0.3, Y_F - 0.21), look="outline", color=FWD,
              label="$U$" if first else None, label_offset=(-0.22, 0))
        arrow(ax, (x + 0.36, Y_X + 0.21), (x + 0.36, Y_B - 0.21), look="outline", color=BWD,
              label="$U'$" if first else None, label_offset=(0.24, -0.55))
        # both directions feed the output; the forward arrow passes left of the backward box
        arrow(ax, (x - 0.3, Y_F + 0.21), (x - 0.3, Y_Y - 0.21), look="outline", color=FWD,
              label="$V$" if first else None, label_offset=(-0.22, 0.5))
        arrow(ax, (x + 0.2, Y_B + 0.21), (x + 0.2, Y_Y - 0.21), look="outline", color=BWD,
              label="$V'$" if first else None, label_offset=(0.24, 0.0))
    for i in range(T - 1):
        arrow(ax, (xs[i] - off + 0.31, Y_F), (xs[i + 1] - off - 0.31, Y_F), "$W$",
              look="outline", color=FWD, label_offset=(0, 0.17))
        arrow(ax, (xs[i + 1] + off - 0.31, Y_B), (xs[i] + off + 0.31, Y_B), "$W'$",
              look="outline", color=BWD, label_offset=(0, 0.17))
    # initial states
    box(ax, xs[0] - 1.25, Y_F, "$h_0 = 0$", look="outline", edgecolor=FWD, w=0.8, dashed=True,
        fontsize=9)
    arrow(ax, (xs[0] - 0.85, Y_F), (xs[0] - off - 0.31, Y_F), look="outline", color=FWD,
          dashed=True)
    box(ax, xs[-1] + 1.25, Y_B, f"$h'_{{{T + 1}}} = 0$", look="outline", edgecolor=BWD, w=0.9,
        dashed=True, fontsize=9)
    arrow(ax, (xs[-1] + 0.8, Y_B), (xs[-1] + off + 0.31, Y_B), look="outline", color=BWD,
          dashed=True)
    ax.text(xs[-1] + 1.2, Y_F, "forward:\nleft to right", ha="center", va="center", fontsize=9,
            color=FWD)
    ax.text(xs[0] - 1.2, Y_B, "backward:\nright to left", ha="center", va="center", fontsize=9,
            color=BWD)
    ax.set_xlim(xs[0] - 1.75, xs[-1] + 1.75)
    ax.set_ylim(-0.45, Y_Y + 0.45)
    ax.set_aspect("equal")
    ax.set_title("Every output $y_t$ sees the whole sequence: the past through $h_t$, "
                 "the future through $h'_t$", fontsize=10)
    return fig


def draw_output_hn_layout(num_layers: int = 2, bidirectional: bool = True, seq_len: int = 5,
                          length: int | None = None):
    """Which states a ``torch.nn.LSTM(num_layers, bidirectional)`` returns, for one sequence.

    Left panel: the network unrolled, one row per (layer, direction), time to the right. The
    cells shaded in the top layer form ``output`` (every step, the directions side by side);
    each chain's *final* cell is outlined and tagged with its row of ``h_n``: row
    ``layer * num_directions + direction``. The forward chain ends at the last true step, the
    backward chain at step 0. With ``length < seq_len`` the padded steps are hatched: they are
    zeros in ``output`` (after ``pad_packed_sequence``) and never touch ``h_n``.

    Right panel: ``output[:, n, :]`` as a table (rows ``t``, the forward half ``[:H]`` then the
    backward half ``[H:]``) with the two cells that equal rows of ``h_n`` marked.
    """
    L = check_int("num_layers", num_layers, 1, 4)
    T = check_int("seq_len", seq_len, 2, 8)
    if not isinstance(bidirectional, (bool, np.bool_)):
        raise TypeError(f"bidirectional must be a bool, got {type(bidirectional).__name__}")
    D = 2 if bidirectional else 1
    n_true = T if length is None else check_int("length", length, 1, T)

    fig, (ax, ax2) = new_figure(1, 2, figsize=(10.0, 0.9 * L * D + 2.2),
                                gridspec_kw={"width_ratios": [T + 1.5, 3.2]})
    for a in (ax, ax2):
        a.set_axis_off()
        a.grid(False)
    rows = []  # (layer, direction) from bottom to top
    for l in range(L):
        for d in range(D):
            rows.append((l, d))
    dx, dy = 1.0, 0.9
    for r, (l, d) in enumerate(rows):
        y = r * dy
        color = FWD if d == 0 else BWD
        top = l == L - 1
        name = f"layer {l}, {'forward' if d == 0 else 'backward'}"
        ax.text(-0.6, y, name, ha="right", va="center", fontsize=9, color=color)
        final_t = n_true - 1 if d == 0 else 0
        k = l * D + d
        for t in range(T):
            x = t * dx
            pad = t >= n_true
            fill = ("#e5f0f7" if d == 0 else "#fbf1dc") if top and not pad else "white"
            edge = GREY if pad else color
            lw = 3.0 if t == final_t else 1.2
            box(ax, x, y, "", fill, look="outline", edgecolor=edge, w=0.7, h=0.55, lw=lw,
                ls=":" if pad else "-")
            if pad:
                ax.add_patch(Rectangle((x - 0.33, y - 0.26), 0.66, 0.52, fill=False, hatch="///",
                                       edgecolor=GREY, linewidth=0, zorder=3.5))
            if t == final_t:
                ax.text(x, y, f"h_n[{k}]", ha="center", va="center", fontsize=8.5,
                        fontweight="bold", color=color, zorder=5)
            # recurrent arrows
            if not pad and t + 1 < n_true:
                if d == 0:
                    start, end = (x + 0.36, y), (x + dx - 0.36, y)
                else:
                    start, end = (x + dx - 0.36, y), (x + 0.36, y)
                arrow(ax, start, end, look="outline", color=color, lw=1.0)
    for t in range(T):
        lab = f"t={t}" if t < n_true else f"t={t}\n(pad)"
        ax.text(t * dx, -0.7, lab, ha="center", va="top", fontsize=8.5,
                color="black" if t < n_true else GREY)
    y_top = (len(rows) - 1) * dy
    ax.text((T - 1) * dx / 2, y_top + 0.55,
            "shaded: top layer = output; outlined: each chain's last state = a row of h_n",
            ha="center", va="bottom", fontsize=9)
    if L > 1:
        ax.text((T - 1) * dx / 2, -1.15,
                f"layer l+1 reads layer l's output at every step ({D}·H wide: "
                + ("both directions side by side)" if D == 2 else "the forward states)"),
                ha="center", va="top", fontsize=8.5, color=GREY)
    ax.set_xlim(-3.0, (T - 1) * dx + 0.6)
    ax.set_ylim(-1.6, y_top + 0.95)

    # right panel: output[:, n, :] as a table
    cw, ch = 1.0, 0.42
    for t in range(T):
        y = (T - 1 - t) * ch
        ax2.text(-0.15, y, f"t={t}", ha="right", va="center", fontsize=8.5,
                 color="black" if t < n_true else GREY)
        for d in range(D):
            x = d * cw
            pad = t >= n_true
            fill = "white" if pad else ("#e5f0f7" if d == 0 else "#fbf1dc")
            color = FWD if d == 0 else BWD
            final = (d == 0 and t == n_true - 1) or (d == 1 and t == 0)
            ax2.add_patch(Rectangle((x, y - ch / 2), cw, ch, facecolor=fill,
                                    edgecolor=color if final else GREY,
                                    linewidth=2.6 if final else 0.6, zorder=3))
            if pad:
                ax2.text(x + cw / 2, y, "0", ha="center", va="center", fontsize=8, color=GREY)
            if final:
                k = (L - 1) * D + d
                ax2.text(x + cw / 2, y, f"= h_n[{k}]", ha="center", va="center", fontsize=8,
                         fontweight="bold", color=color, zorder=4)
    for d in range(D):
        half = "[:H] forward" if d == 0 else "[H:] backward"
        ax2.text(d * cw + cw / 2, (T - 1) * ch + 0.38, half, ha="center", va="bottom", fontsize=8.5,
                 color=FWD if d == 0 else BWD)
    ax2.text(D * cw / 2, -ch / 2 - 0.25, f"output[:, n, :]\nshape (T, N, {D}·H)", ha="center",
             va="top", fontsize=9)
    ax2.set_xlim(-0.8, 2 * cw + 0.2)
    ax2.set_ylim(-1.3, (T - 1) * ch + 0.9)
    what = f"num_layers={L}, bidirectional={bool(bidirectional)}"
    if n_true < T:
        what += f", true length {n_true} of {T}"
    fig.suptitle(f"h_n holds {L * D} rows (every layer, every direction); output only the top "
                 f"layer ({what})", fontsize=10)
    return fig


def plot_padding_damage(err_forward, err_backward, lengths, floor: float = 0.0):
    """Heatmaps of ``|output_unpacked - output_truth|`` per step and sequence, per direction.

    ``err_forward``, ``err_backward``: (T, N) arrays, the largest absolute difference over the
    hidden units at each step; ``lengths``: (N,) true lengths (a black tick marks each true end).
    Values ``<= floor`` (exact zeros, or rounding noise when ``floor`` is e.g. 1e-12) are drawn
    white; the colour scale is logarithmic.
    """
    ef, eb = np.asarray(err_forward, dtype=float), np.asarray(err_backward, dtype=float)
    lengths = np.asarray(lengths)
    if ef.ndim != 2 or ef.shape != eb.shape:
        raise ValueError(f"err_forward and err_backward must be (T, N) arrays of one shape, got "
                         f"{ef.shape} and {eb.shape}")
    if lengths.shape != (ef.shape[1],):
        raise ValueError(f"lengths must have shape (N,) = ({ef.shape[1]},), got {lengths.shape}")
    T, N = ef.shape
    if not floor >= 0:
        raise ValueError(f"floor must be >= 0, got {floor!r}")
    positive = np.concatenate([ef[ef > floor], eb[eb > floor]])
    vmin = max(float(positive.min()), 1e-6) if positive.size else 1e-6
    vmax = max(float(positive.max()), vmin * 10) if positive.size else 1.0
    fig, axes = new_figure(1, 2, figsize=(9.5, 3.8), sharey=True)
    for ax, err, name in zip(axes, (ef, eb), ("forward direction", "backward direction")):
        ax.grid(False)
        shown = np.ma.masked_where(err <= floor, err)
        im = ax.imshow(shown.T, aspect="auto", origin="lower", cmap="viridis",
                       norm=LogNorm(vmin=vmin, vmax=vmax), interpolation="nearest",
                       extent=(-0.5, T - 0.5, -0.5, N - 0.5))
        ax.scatter(lengths - 0.5, np.arange(N), marker="|", s=120, color="black", linewidths=2,
                   label="true end")
        inside = np.arange(T)[:, None] < lengths[None, :]
        worst = float(err[inside].max()) if inside.any() else 0.0
        worst_txt = f"{worst:.1e}" if worst > floor else ("0" if floor == 0 else f"< {floor:.0e}")
        ax.set_title(f"{name}\nlargest error before the true end: {worst_txt}", fontsize=9.5)
        ax.set_xlabel("time step t")
    axes[0].set_ylabel("sequence n in the batch")
    axes[0].legend(loc="upper right", fontsize=8)
    white = "0" if floor == 0 else f"< {floor:.0e}"
    fig.colorbar(im, ax=list(axes), label=f"|unpacked − truth|  (white: {white})")
    fig.suptitle("Without packing, the backward direction is wrong at every step; the forward one "
                 "only after the true end", fontsize=10)
    return fig


def plot_accuracy_curves(curves: Mapping[str, tuple[Sequence[int], Sequence[float]]],
                         title: str, chance: float | None = None, ax=None,
                         ylabel: str = "accuracy per step (fraction)",
                         chance_label: str = "majority label"):
    """Accuracy (on a held-out set) against the optimizer step for several models.

    ``curves``: name -> (steps, accuracies). ``chance``: a dotted reference line labelled
    ``chance_label`` (e.g. the majority-label accuracy). ``ylabel`` names the set measured.
    """
    if not curves:
        raise ValueError("curves must name at least one model")
    if ax is None:
        fig, ax = new_figure(figsize=(6.4, 3.6))
    else:
        fig = ax.figure
    for name, (steps, acc) in curves.items():
        if len(steps) != len(acc):
            raise ValueError(f"curve {name!r}: steps and accuracies differ in length "
                             f"({len(steps)} vs {len(acc)})")
        ax.plot(steps, acc, marker="o", markersize=3, label=name)
    if chance is not None:
        ax.axhline(chance, color=GREY, linestyle=":", linewidth=1.2, label=chance_label)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(ylabel)
    ax.set_ylim(top=1.01)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return fig


def plot_accuracy_bars(names: Sequence[str], accuracies: Sequence[float], params: Sequence[int],
                       title: str, ax=None, ylabel: str = "test accuracy per step (fraction)"):
    """One bar per model: its accuracy, annotated with its parameter count."""
    if not (len(names) == len(accuracies) == len(params)) or not names:
        raise ValueError("names, accuracies and params must be non-empty and of one length, got "
                         f"{len(names)}, {len(accuracies)}, {len(params)}")
    if ax is None:
        fig, ax = new_figure(figsize=(6.4, 3.4))
    else:
        fig = ax.figure
    colors = [COLORS[c] for c in ("blue", "orange", "green", "red", "purple", "sky", "black")]
    hatches = ["", "//", "..", "xx", "\\\\", "oo", "--"]
    pos = np.arange(len(names))
    for i, (acc, p) in enumerate(zip(accuracies, params)):
        ax.bar(pos[i], acc, color=colors[i % len(colors)], hatch=hatches[i % len(hatches)],
               edgecolor="black", linewidth=0.6)
        ax.text(pos[i], acc + 0.01, f"{acc:.3f}\n{p:,} params", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(pos, names, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.18)
    ax.set_title(title, fontsize=10)
    return fig
