"""rnnlab.experiments.ch05: the tagger of 05b is the computation it claims to be, and its training
loop keeps the validation and the test set apart."""
import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab.data import sequences as seqs
from rnnlab.experiments import ch05


@pytest.mark.parametrize("num_layers, bidirectional, residual", [
    (1, True, False), (2, True, True), (3, False, False), (2, False, True),
])
def test_tagger_is_embedding_stacked_lstms_and_readout(num_layers, bidirectional, residual):
    """The tagger equals the same computation written with torch.nn directly; with lengths, each
    sequence of a padded batch gets exactly what it gets alone."""
    torch.manual_seed(0)
    model = ch05.Tagger("match", 5, num_layers, bidirectional, residual).double()
    batch = seqs.marker_sequences(6, task="match", n_classes=2, min_len=3, max_len=9, seed=1)
    tokens, lengths = torch.from_numpy(batch.tokens), torch.from_numpy(batch.lengths)
    with torch.no_grad():
        z = model.embed(tokens)
        for l, lstm in enumerate(model.layers):
            out, _ = pad_packed_sequence(lstm(pack_padded_sequence(z, lengths,
                                                                   enforce_sorted=False))[0],
                                         total_length=tokens.shape[0])
            z = out + z if (residual and l > 0) else out
        expected = model.readout(z)
        got = model(tokens, lengths)
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
        for n, length in enumerate(batch.lengths):          # each sequence alone, no padding
            alone = model(tokens[:length, n:n + 1])
            torch.testing.assert_close(got[:length, n:n + 1], alone, rtol=0, atol=1e-12)
    D = 2 if bidirectional else 1
    assert got.shape == (tokens.shape[0], 6, seqs.num_labels("match", 2))
    assert model.layers[-1].input_size == (8 if num_layers == 1 else D * 5)


def test_tagger_bad_input():
    with pytest.raises(ValueError, match="task"):
        ch05.Tagger("sort", 4)
    with pytest.raises(ValueError, match="hidden"):
        ch05.Tagger("next", 0)
    with pytest.raises(TypeError, match="num_layers"):
        ch05.Tagger("next", 4, num_layers=1.5)


def test_validation_and_test_sets_are_different_draws():
    val, test = ch05.marker_sets(ch05.VALIDATION_SEED, n=200), ch05.marker_sets(ch05.TEST_SEED, n=200)
    assert set(val) == set(test) == set(ch05.TASK_CLASSES)
    for task in val:
        assert val[task].tokens.shape[1] == 200
        a = {val[task].tokens[:L, n].tobytes() for n, L in enumerate(val[task].lengths)}
        b = {test[task].tokens[:L, n].tobytes() for n, L in enumerate(test[task].lengths)}
        assert len(a & b) <= 2                      # random strings: (almost) no overlap
    assert ch05.VALIDATION_SEED != ch05.TEST_SEED


class _Oracle(torch.nn.Module):
    """Predicts the true labels of one batch (and a fixed wrong label at its padded steps)."""

    def __init__(self, labels):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.labels = torch.from_numpy(labels).clamp(min=0)

    def forward(self, tokens, lengths=None):
        return torch.nn.functional.one_hot(self.labels, 4).double() + 0 * self.w


def test_tagger_accuracy_counts_real_steps_only():
    batch = seqs.marker_sequences(20, task="next", n_classes=3, seed=2)
    assert ch05.tagger_accuracy(_Oracle(batch.labels), batch) == 1.0
    wrong = batch.labels.copy()
    wrong[0, :] = np.where(batch.labels[0] == 0, 1, 0)      # step 0 of every sequence wrong
    expected = 1 - 20 / int((batch.labels != seqs.IGNORE_INDEX).sum())
    assert ch05.tagger_accuracy(_Oracle(wrong), batch) == pytest.approx(expected, abs=1e-12)


def test_train_tagger_stops_on_the_validation_set_and_reports_the_test_set():
    small = {task: ch05.marker_sets(seed, n=100) for task, seed in (("val", 5), ("test", 6))}
    run = ch05.train_tagger("next", 8, steps=60, eval_every=20, seed=3,
                            validation=small["val"], test=small["test"], target=2.0)
    h = run.history
    assert h.num_steps == 60 and not h.reached_target        # an unreachable target: all steps
    steps, val_acc = h.metric("val_acc")
    assert steps == [20, 40, 60]
    assert val_acc[-1] == pytest.approx(ch05.tagger_accuracy(run.model, small["val"]["next"]))
    assert run.test_acc == pytest.approx(ch05.tagger_accuracy(run.model, small["test"]["next"]))
    stopped = ch05.train_tagger("next", 8, steps=60, eval_every=20, seed=3,
                                validation=small["val"], test=small["test"], target=0.0)
    assert stopped.history.reached_target and stopped.history.num_steps == 20
    again = ch05.train_tagger("next", 8, steps=60, eval_every=20, seed=3,
                              validation=small["val"], test=small["test"], target=2.0)
    assert again.test_acc == run.test_acc                    # seeded: the same run again
    report = ch05.tagger_report({"a": run, "b": stopped})
    assert "stayed at" in report.splitlines()[1] and "reached 0" in report.splitlines()[2]
    assert all(len(line) <= 88 for line in report.splitlines())
    curves = ch05.tagger_curves({"a": run, "b": stopped})
    assert list(curves) == ["a", "b (stopped at 0, step 20)"]
