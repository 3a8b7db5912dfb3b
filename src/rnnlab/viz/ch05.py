"""Figures of chapter 5: bidirectional and deep recurrent networks, variable-length batches.

- :func:`draw_bidirectional` — the unrolled bidirectional network: a forward chain with weights
  U, W, V and a backward chain with its own U', W', V', both feeding every output.
- :func:`draw_output_hn_layout` — which cells of a ``num_layers x num_directions`` network end up in
  ``output`` and which in ``h_n`` (and at which step each direction's final state lives).
- :func:`plot_padding_damage` — where a bidirectional layer run on a padded batch without packing
  departs from the per-sequence truth.
- :func:`plot_accuracy_curves`, :func:`plot_accuracy_bars` — the chapter's experiment.

The experiment of ``05b_direction_depth`` itself lives here too, so that the notebook and its
robustness claims (``benchmarks/claims/ch05.py``) run one copy: :class:`Tagger`,
:func:`marker_sets`, :func:`train_tagger`, :func:`tagger_accuracy`, :func:`tagger_report`,
:func:`tagger_curves`.

Every figure function returns the matplotlib ``Figure`` and draws with :mod:`rnnlab.viz.style`.
"""
from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab._args import check_int
from rnnlab.data import sequences as seqs
from rnnlab.train import fit
from rnnlab.viz.diagram import arrow, box
from rnnlab.viz.style import COLORS, new_figure

__all__ = [
    "draw_bidirectional",
    "draw_output_hn_layout",
    "plot_padding_damage",
    "plot_accuracy_curves",
    "plot_accuracy_bars",
    "TASK_CLASSES",
    "FILLERS",
    "VALIDATION_SEED",
    "TEST_SEED",
    "marker_sets",
    "Tagger",
    "tagger_accuracy",
    "tagger_loss",
    "TaggerRun",
    "train_tagger",
    "tagger_report",
    "tagger_curves",
]

FWD = COLORS["blue"]
BWD = COLORS["orange"]
GREY = COLORS["grey"]


# this chapter's schematics: coloured outlines, pale fills, thin labels
_BOX_STYLE = dict(w=0.62, h=0.42, lw=1.6, boxstyle="round,pad=0.02,rounding_size=0.08",
                  textcolor="black", zorder=3)
_ARROW_STYLE = dict(mutation_scale=11, zorder=2, fontsize=9, label_pad=0.08, label_alpha=None)


def _box(ax, x, y, text, color, *, fill=None, **options):
    """A box outlined in ``color`` (:func:`rnnlab.viz.diagram.box` in this chapter's style)."""
    return box(ax, x, y, text, fill or "white", **{**_BOX_STYLE, "edgecolor": color, **options})


def _arrow(ax, start, end, color, **options):
    """An arrow in ``color`` (:func:`rnnlab.viz.diagram.arrow` in this chapter's style)."""
    return arrow(ax, start, end, **{**_ARROW_STYLE, "color": color, **options})


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
        _box(ax, x, Y_X, f"$x_{{{t}}}$", GREY)
        _box(ax, x - off, Y_F, f"$h_{{{t}}}$", FWD, fill="#e5f0f7")
        _box(ax, x + off, Y_B, f"$h'_{{{t}}}$", BWD, fill="#fbf1dc")
        _box(ax, x, Y_Y, f"$y_{{{t}}}$", COLORS["black"])
        first = t == 1
        # the input feeds both directions; the backward arrow passes right of the forward box
        _arrow(ax, (x - 0.3, Y_X + 0.21), (x - 0.3, Y_F - 0.21), FWD,
               label="$U$" if first else None, label_offset=(-0.22, 0))
        _arrow(ax, (x + 0.36, Y_X + 0.21), (x + 0.36, Y_B - 0.21), BWD,
               label="$U'$" if first else None, label_offset=(0.24, -0.55))
        # both directions feed the output; the forward arrow passes left of the backward box
        _arrow(ax, (x - 0.3, Y_F + 0.21), (x - 0.3, Y_Y - 0.21), FWD,
               label="$V$" if first else None, label_offset=(-0.22, 0.5))
        _arrow(ax, (x + 0.2, Y_B + 0.21), (x + 0.2, Y_Y - 0.21), BWD,
               label="$V'$" if first else None, label_offset=(0.24, 0.0))
    for i in range(T - 1):
        _arrow(ax, (xs[i] - off + 0.31, Y_F), (xs[i + 1] - off - 0.31, Y_F), FWD, label="$W$",
               label_offset=(0, 0.17))
        _arrow(ax, (xs[i + 1] + off - 0.31, Y_B), (xs[i] + off + 0.31, Y_B), BWD, label="$W'$",
               label_offset=(0, 0.17))
    # initial states
    _box(ax, xs[0] - 1.25, Y_F, "$h_0 = 0$", FWD, w=0.8, ls="--", fontsize=9)
    _arrow(ax, (xs[0] - 0.85, Y_F), (xs[0] - off - 0.31, Y_F), FWD, ls="--")
    _box(ax, xs[-1] + 1.25, Y_B, f"$h'_{{{T + 1}}} = 0$", BWD, w=0.9, ls="--", fontsize=9)
    _arrow(ax, (xs[-1] + 0.8, Y_B), (xs[-1] + off + 0.31, Y_B), BWD, ls="--")
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
    from matplotlib.patches import Rectangle

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
            _box(ax, x, y, "", edge, w=0.7, h=0.55, fill=fill, lw=lw, ls=":" if pad else "-")
            if pad:
                ax.add_patch(Rectangle((x - 0.33, y - 0.26), 0.66, 0.52, fill=False, hatch="///",
                                       edgecolor=GREY, linewidth=0, zorder=3.5))
            if t == final_t:
                ax.text(x, y, f"h_n[{k}]", ha="center", va="center", fontsize=8.5,
                        fontweight="bold", color=color, zorder=5)
            # recurrent arrows
            if not pad and t + 1 < n_true:
                if d == 0:
                    _arrow(ax, (x + 0.36, y), (x + dx - 0.36, y), color, lw=1.0)
                else:
                    _arrow(ax, (x + dx - 0.36, y), (x + 0.36, y), color, lw=1.0)
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
    from matplotlib.colors import LogNorm

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


# --------------------------------------------------------------------------------------------
# The experiment of 05b_direction_depth: LSTM taggers on the marker tasks
# --------------------------------------------------------------------------------------------
#: Marker classes of each task in the chapter's experiment (``rnnlab.data.sequences``).
TASK_CLASSES: dict[str, int] = {"next": 3, "match": 2}
#: Filler symbols in every sequence of the experiment.
FILLERS: int = 4
#: Seeds of the fixed held-out sets: validation (early stopping, model selection) and test
#: (reported once, after training).
VALIDATION_SEED, TEST_SEED = 200, 100


def marker_sets(seed: int, n: int = 1000) -> dict:
    """One padded set of ``n`` sequences per task of the experiment (lengths 8 to 24).

    ``marker_sets(VALIDATION_SEED)`` is the validation set, ``marker_sets(TEST_SEED)`` the test set:
    generated by different seeds, so no sequence is chosen with the test set in view.
    """
    return {task: seqs.marker_sequences(n, task=task, n_classes=k, n_fillers=FILLERS, seed=seed)
            for task, k in TASK_CLASSES.items()}


class Tagger(nn.Module):
    """Embedding -> ``num_layers`` LSTM layers stacked by hand -> Linear, one label per step.

    Each layer's size, direction and a residual connection (eq. deep-residual: from the second
    layer up, a layer's input is added to its output) are the caller's to choose.
    ``forward(tokens, lengths=None)``: tokens ``(T, N)`` int64 -> logits ``(T, N, labels)``. Given
    ``lengths`` ``(N,)``, each layer runs on a packed batch; without them, on the tensor as it is,
    padding included.
    """

    def __init__(self, task: str, hidden: int, num_layers: int = 1, bidirectional: bool = True,
                 residual: bool = False, embed: int = 8):
        super().__init__()
        if task not in TASK_CLASSES:
            raise ValueError(f"task must be one of {sorted(TASK_CLASSES)}, got {task!r}")
        hidden = check_int("hidden", hidden, 1)
        num_layers = check_int("num_layers", num_layers, 1)
        D = 2 if bidirectional else 1
        k = TASK_CLASSES[task]
        self.embed = nn.Embedding(seqs.vocab_size(k, FILLERS), embed)
        self.layers = nn.ModuleList(
            nn.LSTM(embed if l == 0 else D * hidden, hidden, bidirectional=bidirectional)
            for l in range(num_layers))
        self.residual = residual
        self.readout = nn.Linear(D * hidden, seqs.num_labels(task, k))

    def forward(self, tokens, lengths=None):
        z = self.embed(tokens)
        for l, lstm in enumerate(self.layers):
            if lengths is None:
                out, _ = lstm(z)
            else:
                out, _ = lstm(pack_padded_sequence(z, lengths, enforce_sorted=False))
                out, _ = pad_packed_sequence(out, total_length=tokens.shape[0])
            z = out + z if (self.residual and l > 0) else out
        return self.readout(z)


def tagger_accuracy(model, batch, packed: bool = True) -> float:
    """Per-step accuracy of ``model`` on a padded :class:`~rnnlab.data.sequences.MarkerBatch`.

    ``packed=False`` feeds the padded tensor to the model as it is (the mistake 05b measures).
    """
    tokens = torch.from_numpy(batch.tokens)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = model(tokens, torch.from_numpy(batch.lengths) if packed else None)
    model.train(was_training)
    return seqs.accuracy(logits.argmax(-1).numpy(), batch.labels)


def tagger_loss(model, batch):
    """Cross-entropy over every step of an equal-length training batch (no padding to handle)."""
    logits = model(batch.tokens)
    return nn.functional.cross_entropy(logits.flatten(0, 1), batch.labels.flatten())


class TaggerRun(NamedTuple):
    """One trained tagger: the model, its :class:`~rnnlab.train.History` (validation accuracy
    every ``eval_every`` steps under ``"val_acc"``) and its accuracy on the test set, measured
    once after training."""

    model: object
    history: object
    test_acc: float


def train_tagger(task: str, hidden: int, num_layers: int = 1, bidirectional: bool = True,
                 residual: bool = False, *, steps: int = 800, seed: int = 0, validation=None,
                 test=None, target: float = 0.98, eval_every: int = 50) -> TaggerRun:
    """Train a :class:`Tagger` on ``task`` as 05b does, then measure it on the test set.

    Adam (lr 0.01), equal-length batches of 64 from :func:`rnnlab.data.sequences.bucketed_batches`
    (seed ``seed + 1``; the model's initial weights come from ``torch.manual_seed(seed)``). Every
    ``eval_every`` steps the accuracy on the *validation* set is recorded, and training stops as
    soon as it reaches ``target`` (at most ``steps`` steps). The *test* set is touched once, at the
    end. ``validation``/``test``: dicts task -> padded batch (default: :func:`marker_sets` with
    :data:`VALIDATION_SEED` and :data:`TEST_SEED`).
    """
    steps = check_int("steps", steps, 1)
    seed = check_int("seed", seed, 0)
    validation = marker_sets(VALIDATION_SEED) if validation is None else validation
    test = marker_sets(TEST_SEED) if test is None else test
    torch.manual_seed(seed)
    model = Tagger(task, hidden, num_layers, bidirectional, residual)
    batches = seqs.bucketed_batches(64, task=task, n_classes=TASK_CLASSES[task], n_fillers=FILLERS,
                                    seed=seed + 1)
    history = fit(model, tagger_loss, batches, steps=steps, lr=1e-2, eval_every=eval_every,
                  eval_fn=lambda m: {"val_acc": tagger_accuracy(m, validation[task])},
                  target=target, monitor="val_acc", mode="max", progress=False)
    return TaggerRun(model, history, tagger_accuracy(model, test[task]))


def tagger_report(runs: Mapping[str, TaggerRun]) -> str:
    """One line per run: parameters, steps, whether validation reached the target, test accuracy.

    No timings and no accuracy beyond what the notebook asserts, so the text only changes where
    the outcome does (cells that print it still tag their exact numbers as volatile).
    """
    lines = [f"{'model':28s} {'params':>6s} {'steps':>5s}  {'validation':18s} {'test acc':>8s}"]
    for name, run in runs.items():
        h = run.history
        n = sum(p.numel() for p in run.model.parameters())
        val = f"reached {h.target:g}" if h.reached_target else f"stayed at {h.final():.3f}"
        lines.append(f"{name:28s} {n:6,d} {h.num_steps:5d}  {val:18s} {run.test_acc:8.3f}")
    return "\n".join(lines)


def tagger_curves(runs: Mapping[str, TaggerRun]) -> dict:
    """name -> (steps, validation accuracies), for :func:`plot_accuracy_curves`; a run that
    stopped at its target says so in its name."""
    out = {}
    for name, run in runs.items():
        h = run.history
        label = f"{name} (stopped at {h.target:g}, step {h.num_steps})" if h.reached_target else name
        out[label] = h.metric("val_acc")
    return out
