"""rnnlab.viz.ch03: the timing figure draws the outputs it is given; the gate explorer draws the gate
traces it is given (outside the inline backend too) and refuses a trace list that does not match
the batch."""
from __future__ import annotations

import pytest
import torch

from rnnlab.data import adding_problem
from rnnlab.experiments import ch03 as ex03
from rnnlab.viz import ch03


def test_gate_explorer_draws_outside_the_inline_backend():
    """The explorer used to call plt.show(fig), which only the inline backend accepts."""
    pytest.importorskip("ipywidgets")
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(2, 4)
    batch = adding_problem(2, 12, rng=0)
    traces = [ex03.lstm_gate_trace(lstm.state_dict(), batch.x[:, n]) for n in range(2)]
    box = ch03.gate_explorer(traces, batch)
    assert type(box).__name__ == "VBox" and len(box.children) == 2
    slider = box.children[0]
    slider.value = 1  # the second sequence: drawn from its own trace, no error
    with pytest.raises(ValueError, match="one trace per sequence"):
        ch03.gate_explorer(traces[:1], batch)


def test_timing_figure_draws_one_panel_per_sequence_with_each_models_curve():
    runs = {"no peephole": ex03.run_timing(False, steps=2),
            "peephole": ex03.run_timing(True, steps=2)}
    fig = ch03.timing_figure(ex03.timing_outputs(runs, length=20, delay=5, n=2))
    assert len(fig.axes) == 2
    assert [line.get_label() for line in fig.axes[0].get_lines()] == list(runs)
    assert "5 steps" in fig.axes[0].get_title()
