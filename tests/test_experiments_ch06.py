"""rnnlab.experiments.ch06: the models of chapter 6 are the computations they claim to be (against
torch.nn and by hand), their training recipes record what they say and decide nothing on the test
set, and decoding and generation are seeded."""
import numpy as np
import pytest
import torch

from rnnlab.data.digits import DigitsSplit, load_digits_rows
from rnnlab.experiments import ch06 as ex06


def test_row_lstm_reads_the_last_state_of_an_lstm_equal_to_torch():
    torch.manual_seed(0)
    model = ex06.RowLSTM(d_in=3, hidden=5, n_classes=4).double()
    ref = torch.nn.LSTM(3, 5, batch_first=True).double()
    ref.load_state_dict(model.lstm.state_dict())
    x = torch.randn(7, 6, 3, dtype=torch.float64)
    with torch.no_grad():
        states, _ = ref(x)
        torch.testing.assert_close(model.states(x), states, rtol=0, atol=1e-12)
        torch.testing.assert_close(model(x), model.head(states[:, -1]), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"\(N, T, D\)"):
        model.states(torch.zeros(6, 3))


def test_fcn_convolves_over_time_then_averages():
    torch.manual_seed(0)
    fcn = ex06.FCN(d_in=8, n_classes=10).eval()
    x = torch.randn(5, 8, 8)
    with torch.no_grad():
        out = fcn(x)
        feats = fcn.body(x.transpose(1, 2))
    assert out.shape == (5, 10) and feats.shape == (5, 64, 8)      # padding keeps T
    torch.testing.assert_close(out, fcn.head(feats.mean(2)))
    with pytest.raises(ValueError, match=r"\(N, T, D\)"):
        fcn(torch.zeros(8, 8))


def test_digits_model_is_seeded():
    a, b = ex06.digits_model("FCN", seed=3), ex06.digits_model("FCN", seed=3)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    c = ex06.digits_model("RowLSTM", seed=4)
    assert not torch.equal(c.head.weight, ex06.digits_model("RowLSTM", seed=5).head.weight)
    with pytest.raises(ValueError, match="name"):
        ex06.digits_model("GRU")


def _tiny_digits(n_train=64, n_test=40):
    d = load_digits_rows()
    return DigitsSplit(d.x_train[:n_train], d.y_train[:n_train], d.x_test[:n_test], d.y_test[:n_test])


def test_train_digits_records_test_accuracy_every_epoch_and_decides_nothing_on_it():
    data = _tiny_digits()
    model = ex06.digits_model("RowLSTM", seed=0)
    hist = ex06.train_digits(model, data, lr=5e-3, epochs=2, batch_size=32, progress=False)
    steps, acc = hist.metric("test_acc")
    assert steps == [2, 4] and hist.num_steps == 4 and hist.stop_reason == "exhausted"
    assert acc[-1] == pytest.approx(ex06.digits_accuracy(model, data.x_test, data.y_test))
    assert hist.target is None


def test_digits_accuracy_and_head_by_step_count_correct_predictions():
    torch.manual_seed(1)
    model = ex06.RowLSTM(d_in=8, hidden=6, n_classes=10)
    x = torch.rand(30, 8, 8)
    with torch.no_grad():
        pred_last = model(x).argmax(1)
        pred_all = model.head(model.states(x)).argmax(-1)
    y = pred_last.clone()
    y[:6] = (y[:6] + 1) % 10                              # 6 of 30 wrong at the last step
    assert ex06.digits_accuracy(model, x, y) == pytest.approx(0.8)
    by_step = ex06.head_accuracy_by_step(model, x.numpy(), y.numpy())
    expected = (pred_all == y[:, None]).float().mean(0).numpy()
    np.testing.assert_allclose(by_step, expected)
    assert by_step[-1] == pytest.approx(0.8)


def test_probe_reads_what_each_step_holds():
    """Synthetic states: step 0 is noise, step 1 holds the label in one coordinate."""
    rng = np.random.default_rng(0)
    y_tr, y_te = rng.integers(0, 3, 300), rng.integers(0, 3, 300)

    def states(y):
        s = rng.normal(size=(len(y), 2, 4))
        s[:, 1, 0] = 3.0 * y
        return s

    acc = ex06.probe_accuracy_by_step(states(y_tr), y_tr, states(y_te), y_te)
    assert acc.shape == (2,)
    assert acc[0] < 0.5 and acc[1] > 0.95                 # chance is 1/3
    with pytest.raises(ValueError, match="shapes"):
        ex06.probe_accuracy_by_step(states(y_tr)[:, :1], y_tr, states(y_te), y_te)
    with pytest.raises(ValueError, match="labels"):
        ex06.probe_accuracy_by_step(states(y_tr), y_tr[:-1], states(y_te), y_te)


def test_logistic_regression_baseline_is_a_linear_model_on_the_pixels():
    model, acc = ex06.logistic_regression_digits(_tiny_digits(400, 100))
    assert model.coef_.shape == (10, 64) and 0.8 < acc <= 1.0


def test_tagger_packs_the_batch_so_padding_changes_nothing():
    torch.manual_seed(0)
    model = ex06.Tagger(vocab_size=20, n_tags=9, bidirectional=True).double()
    words = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    lengths = torch.tensor([4, 2])
    batched = model(words, lengths)
    alone = model(words[1:, :2], lengths[1:])
    torch.testing.assert_close(batched[1, :2], alone[0], rtol=0, atol=1e-12)
    mask = torch.arange(4)[None] < lengths[:, None]
    tags = torch.tensor([[1, 2, 0, 3], [4, 5, 0, 0]])
    expected = torch.nn.functional.cross_entropy(batched.transpose(1, 2),
                                                 tags.masked_fill(~mask, -100))
    torch.testing.assert_close(ex06.tagging_loss(model, (words, tags, lengths, mask)), expected,
                               rtol=0, atol=1e-12)


def test_carried_state_loss_equals_one_pass_and_cuts_the_gradient():
    torch.manual_seed(0)
    model = ex06.CharLM(vocab_size=11, emb=4, hidden=6).double()
    text = torch.randint(0, 11, (13, 2))
    x, y = text[:-1], text[1:]
    scores, _ = model(x)
    whole = torch.nn.functional.cross_entropy(scores[6:].flatten(0, 1), y[6:].flatten())
    loss = ex06.CarriedStateLoss()
    loss(model, (x[:6], y[:6], True))
    first_state = loss.state                          # still attached to the first window
    second = loss(model, (x[6:], y[6:], False))
    torch.testing.assert_close(second, whole, rtol=0, atol=1e-12)
    grads = torch.autograd.grad(second, first_state, allow_unused=True)
    assert grads == (None, None)                      # no gradient crosses the boundary
    fresh = loss(model, (x[6:], y[6:], True))
    expected = torch.nn.functional.cross_entropy(model(x[6:])[0].flatten(0, 1), y[6:].flatten())
    torch.testing.assert_close(fresh, expected, rtol=0, atol=1e-12)


def test_held_out_bpc_does_not_depend_on_the_window():
    torch.manual_seed(0)
    model = ex06.CharLM(vocab_size=11, emb=4, hidden=6).double()
    streams = torch.randint(0, 11, (40, 3))
    scores, _ = model(streams[:-1])
    nats = torch.nn.functional.cross_entropy(scores.flatten(0, 1), streams[1:].flatten())
    for window in (1, 7, 100):
        assert ex06.held_out_bpc(model, streams, window) == pytest.approx(
            nats.item() / np.log(2), rel=1e-12)


def test_generate_text_keeps_the_prompt_and_is_seeded():
    from rnnlab.data.text import CharVocab

    torch.manual_seed(0)
    vocab = CharVocab()
    model = ex06.CharLM(vocab.size, emb=4, hidden=6)
    a = ex06.generate_text(model, vocab, "def f(", 1.0, length=20, batch=3, seed=5)
    assert len(a) == 3 and all(s.startswith("def f(") and len(s) == 26 for s in a)
    assert a == ex06.generate_text(model, vocab, "def f(", 1.0, length=20, batch=3, seed=5)
    surprise, distinct = ex06.temperature_effects(model, vocab, [0.5, 2.0], length=30, batch=2)
    assert len(surprise) == 2 and all(0 < d <= 1 for d in distinct)


def test_seq2seq_step_by_step_equals_teacher_forcing():
    from rnnlab.data import dates as D

    torch.manual_seed(0)
    vocab = D.DateVocab()
    train, _ = D.make_date_split(n_train=5, n_test=1, seed=0)
    src, src_len, tgt_in, _ = (torch.from_numpy(a) for a in D.encode_pairs(train, vocab))
    model = ex06.Seq2Seq(vocab.size, emb=8, hidden=10).double()
    forced = model(src, src_len, tgt_in)
    state, steps = model.encode(src, src_len), []
    for u in range(tgt_in.shape[1]):
        scores, state = model.step(tgt_in[:, u], state)
        steps.append(scores)
    torch.testing.assert_close(torch.stack(steps, 1), forced, rtol=0, atol=1e-12)


def test_separator_translator_reads_each_source_to_its_true_end():
    from rnnlab.data import dates as D

    torch.manual_seed(0)
    vocab = D.DateVocab()
    train, _ = D.make_date_split(n_train=6, n_test=1, seed=0)
    enc = D.encode_pairs(train, vocab)
    sep = D.encode_with_separator(train, vocab)
    model = ex06.SeparatorTranslator(vocab.size, emb=8, hidden=10).double()
    first_scores, _ = model.step(torch.full((6,), model.first),
                                 model.encode(torch.from_numpy(enc.src),
                                              torch.from_numpy(enc.src_len)))
    full = model(torch.from_numpy(sep.inputs))        # reads source, <sep>, target
    at_sep = full[torch.arange(6), torch.from_numpy(sep.sep_pos)]
    torch.testing.assert_close(first_scores, at_sep, rtol=0, atol=1e-12)
    greedy, _ = ex06.translate(model, enc.src, enc.src_len, vocab)
    beam1, _ = ex06.translate(model, enc.src, enc.src_len, vocab, beam=1)
    assert greedy == beam1                            # beam search with k = 1 is greedy
