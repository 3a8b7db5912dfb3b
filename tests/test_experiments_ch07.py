"""rnnlab.experiments.ch07: the closed form breaks where float64 and float32 say it must, the
interleaved timer keeps the fastest run, the models have the layers they name, and the small
experiment runners work."""
import numpy as np
import pytest
import torch

import rnnlab.modules as rm
from rnnlab.experiments import ch07 as ex07


def test_closed_form_breaks_where_the_floating_point_range_ends():
    # b_s / A_s = a^-s overflows once a^-s * (number of terms) passes the largest float
    assert ex07.closed_form_breaks(0.5) == 1023
    assert ex07.closed_form_breaks(0.5, np.float32) == 127
    assert ex07.closed_form_breaks(0.01) == 155
    assert ex07.closed_form_breaks(0.999, steps=1000) is None


def test_interleaved_times_runs_each_candidate_and_keeps_the_fastest():
    calls = {"a": 0, "b": 0}

    def bump(name):
        def run():
            calls[name] += 1
        return run

    times = ex07.interleaved_times({"a": bump("a"), "b": bump("b")}, repeats=3, warmup=2)
    assert calls == {"a": 5, "b": 5} and set(times) == {"a", "b"}
    res = ex07.scan_times((16, 32), width=2, repeats=1)
    assert res.lengths == (16, 32) and set(res.seconds) == set(ex07.SCAN_CANDIDATES)
    assert all(v.shape == (2,) and (v > 0).all() for v in res.seconds.values())


@pytest.mark.parametrize("cell, cls", [("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU),
                                       ("mingru", rm.MinGRU), ("minlstm", rm.MinLSTM),
                                       ("mingru-neg", rm.MinGRU)])
def test_models_use_the_named_layer(cell, cls):
    torch.manual_seed(0)
    reg = ex07.SequenceRegressor(cell, 2, 5)
    assert isinstance(reg.rnn, cls) and reg(torch.randn(7, 3, 2)).shape == (3, 1)
    par = ex07.ParityClassifier(cell, 4)
    assert par(torch.randn(6, 2, 1)).shape == (6, 2)
    lm = ex07.CharModel(cell, 11, 6, num_layers=2, embedding_size=3)
    scores, state = lm(torch.randint(0, 11, (5, 2)))
    scores2, _ = lm(torch.randint(0, 11, (5, 2)), state)  # the state is carried
    assert scores.shape == scores2.shape == (5, 2, 11)
    assert getattr(par.rnn, "negative", False) == (cell == "mingru-neg")


def test_make_layer_refuses_unknown_cells():
    with pytest.raises(ValueError, match="cell must be one of"):
        ex07.make_layer("rnn", 2, 3)


def test_parity_runner_and_accuracy():
    run = ex07.train_parity("lstm", hidden_size=4, length=8, steps=3, seed=0)
    assert run.name == "LSTM" and run.history.num_steps == 3
    acc = ex07.parity_accuracy(run.model, [8, 16], n=50)
    assert set(acc) == {8, 16} and all(0 <= v <= 1 for v in acc.values())


def test_char_runner_on_a_tiny_corpus():
    from rnnlab.data import text as T

    corpus = T.load_stdlib_corpus(modules=("bisect",), max_chars=4000)
    res = ex07.train_char_model("mingru", 8, steps=4, seed=0, seq_len=16, batch_size=4,
                                val_chars=1000, eval_every=2, warmup=2, corpus=corpus)
    assert res.name == "minGRU" and res.history.num_steps == 4 and 0 < res.bpc < 10
    assert res.parameters == ex07.count_parameters(ex07.CharModel("mingru", 97, 8))
