"""rnnlab.viz.ch07 and rnnlab.data.parity: the parity task is the running parity of its bits, the
scan diagram draws exactly the combines the scans perform, the closed form breaks where float64
and float32 say it must, the models have the layers they name, the small experiment runners work,
the figures draw, and bad input is refused."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnlab.modules as rm  # noqa: E402
from rnnlab.data import parity_stream, parity_task  # noqa: E402
from rnnlab.scratch import scan as S  # noqa: E402
from rnnlab.viz import ch07  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# ----------------------------------------------------------------------------- the parity task
@pytest.mark.parametrize("batch_first", [False, True])
def test_parity_targets_are_the_running_parity(batch_first):
    b = parity_task(7, 50, rng=3, batch_first=batch_first)
    x = b.x[..., 0].T if batch_first else b.x[..., 0]
    y = b.y.T if batch_first else b.y
    assert b.x.shape == ((7, 50, 1) if batch_first else (50, 7, 1)) and b.x.dtype == np.float32
    assert set(np.unique(x)) <= {0.0, 1.0} and y.dtype == np.int64
    for n in range(7):
        parity = 0
        for t in range(50):
            parity ^= int(x[t, n])
            assert y[t, n] == parity


def test_parity_is_seeded_and_balanced():
    a, b = parity_task(4, 10, rng=1), parity_task(4, 10, rng=1)
    assert np.array_equal(a.x, b.x)
    stream = parity_stream(2000, 64, rng=0)
    first, second = stream(), stream()
    assert not np.array_equal(first.x, second.x)
    assert abs(first.y[-1].mean() - 0.5) < 0.05  # the parity at the end is a fair coin
    with pytest.raises(ValueError, match="length must be >= 1"):
        parity_task(3, 0)
    with pytest.raises(TypeError, match="dtype must be a floating dtype"):
        parity_task(3, 5, dtype=np.int64)


# ----------------------------------------------------------------------------- scans and timing
def test_scan_diagram_draws_the_combines_of_the_scans():
    T = 8
    fig = ch07.scan_diagram_figure(T)
    hs, bl = fig.axes
    solid = lambda ax: [a for a in ax.texts if getattr(a, "arrow_patch", None) is not None  # noqa: E731
                        and a.arrow_patch.get_linestyle() in ("-", "solid")]
    assert len(solid(hs)) == S.scan_cost(T, "hillis_steele").combines
    assert len(solid(bl)) == S.scan_cost(T, "blelloch").combines
    with pytest.raises(ValueError, match="power of two"):
        ch07.scan_diagram_figure(6)


def test_closed_form_breaks_where_the_floating_point_range_ends():
    # b_s / A_s = a^-s overflows once a^-s * (number of terms) passes the largest float
    assert ch07.closed_form_breaks(0.5) == 1023
    assert ch07.closed_form_breaks(0.5, np.float32) == 127
    assert ch07.closed_form_breaks(0.01) == 155
    assert ch07.closed_form_breaks(0.999, steps=1000) is None


def test_interleaved_times_runs_each_candidate_and_keeps_the_fastest():
    calls = {"a": 0, "b": 0}

    def bump(name):
        def run():
            calls[name] += 1
        return run

    times = ch07.interleaved_times({"a": bump("a"), "b": bump("b")}, repeats=3, warmup=2)
    assert calls == {"a": 5, "b": 5} and set(times) == {"a", "b"}
    res = ch07.scan_times((16, 32), width=2, repeats=1)
    assert res.lengths == (16, 32) and set(res.seconds) == set(ch07.SCAN_CANDIDATES)
    assert all(v.shape == (2,) and (v > 0).all() for v in res.seconds.values())


# ----------------------------------------------------------------------------- models and runners
@pytest.mark.parametrize("cell, cls", [("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU),
                                       ("mingru", rm.MinGRU), ("minlstm", rm.MinLSTM),
                                       ("mingru-neg", rm.MinGRU)])
def test_models_use_the_named_layer(cell, cls):
    torch.manual_seed(0)
    reg = ch07.SequenceRegressor(cell, 2, 5)
    assert isinstance(reg.rnn, cls) and reg(torch.randn(7, 3, 2)).shape == (3, 1)
    par = ch07.ParityClassifier(cell, 4)
    assert par(torch.randn(6, 2, 1)).shape == (6, 2)
    lm = ch07.CharModel(cell, 11, 6, num_layers=2, embedding_size=3)
    scores, state = lm(torch.randint(0, 11, (5, 2)))
    scores2, _ = lm(torch.randint(0, 11, (5, 2)), state)  # the state is carried
    assert scores.shape == scores2.shape == (5, 2, 11)
    assert getattr(par.rnn, "negative", False) == (cell == "mingru-neg")


def test_make_layer_refuses_unknown_cells():
    with pytest.raises(ValueError, match="cell must be one of"):
        ch07.make_layer("rnn", 2, 3)


def test_parity_runner_and_accuracy():
    run = ch07.train_parity("lstm", hidden_size=4, length=8, steps=3, seed=0)
    assert run.name == "LSTM" and run.history.num_steps == 3
    acc = ch07.parity_accuracy(run.model, [8, 16], n=50)
    assert set(acc) == {8, 16} and all(0 <= v <= 1 for v in acc.values())


def test_the_exact_negative_solution_is_right_and_a_positive_one_is_not():
    bits = parity_task(1, 200, rng=5).x[:, 0, 0].astype(np.float64)
    h = S.scan_blelloch(1 - 2 * bits, np.zeros(200), np.ones(()))
    assert np.array_equal(h < 0, np.cumsum(bits) % 2 == 1)


def test_char_runner_on_a_tiny_corpus():
    from rnnlab.data import text as T

    corpus = T.load_stdlib_corpus(modules=("bisect",), max_chars=4000)
    res = ch07.train_char_model("mingru", 8, steps=4, seed=0, seq_len=16, batch_size=4,
                                val_chars=1000, eval_every=2, warmup=2, corpus=corpus)
    assert res.name == "minGRU" and res.history.num_steps == 4 and 0 < res.bpc < 10
    assert res.parameters == ch07.count_parameters(ch07.CharModel("mingru", 97, 8))


# ----------------------------------------------------------------------------- figures
def test_figures_draw_and_state_their_finding():
    lengths = (32, 64)
    fig = ch07.lstm_time_figure(lengths, {"torch.nn.LSTM": np.array([1e-3, 2e-3])})
    assert "proportion to T" in fig.axes[0].get_title()
    res = ch07.ScanTimes((64, 256), 8, {name: np.array([1e-3, 2e-3]) for name in ch07.SCAN_CANDIDATES})
    fig = ch07.scan_time_figure([res, res._replace(width=256)])
    assert [ax.get_title() for ax in fig.axes] == ["8 numbers per step", "256 numbers per step"]
    fig = ch07.fading_figure()
    assert "forgets" in fig.axes[0].get_title()
    fig = ch07.parity_figure({"LSTM": {32: 1.0, 64: 1.0}}, train_length=32)
    assert fig.axes[0].get_ylabel().startswith("parity")
