"""rnnlab.viz.ch06: the temperature figures show softmax(logits / T) as torch computes it, the
explorer builds, the chapter's figures draw and state their finding, and bad input is refused."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from rnnlab.viz import ch06  # noqa: E402

CHARS = "abcdef\n "


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def logits(seed=0):
    return np.random.default_rng(seed).normal(scale=3.0, size=len(CHARS))


@pytest.mark.parametrize("temperatures", [(0.25, 0.5, 1.0, 2.0), (1.0,), (0.1, 10.0)])
def test_temperature_grid_bars_are_torch_softmax_of_logits_over_t(temperatures):
    z = logits()
    fig = ch06.temperature_grid(z, CHARS, temperatures, context="def f(", top=5)
    order = np.argsort(-z, kind="stable")[:5]
    for ax, t in zip(fig.axes, temperatures):
        expected = torch.softmax(torch.from_numpy(z) / t, dim=0).numpy()
        heights = [patch.get_height() for patch in ax.patches]
        np.testing.assert_allclose(heights, expected[order], rtol=1e-12)
        labels = [tick.get_text() for tick in ax.get_xticklabels()]
        assert labels == [ch06.printable(CHARS[i]) for i in order]
        assert f"other symbols: {1 - expected[order].sum():.2f}" in ax.get_title()
    assert "low T sharpens" in fig._suptitle.get_text()


def test_lower_temperature_is_sharper():
    z = logits(1)
    fig = ch06.temperature_grid(z, CHARS, (0.5, 1.0, 2.0), top=len(CHARS))
    tallest = [max(p.get_height() for p in ax.patches) for ax in fig.axes]
    assert tallest[0] > tallest[1] > tallest[2]


def test_explorer_builds_with_and_without_a_sampler():
    box = ch06.temperature_explorer(logits(), CHARS, sample=lambda t: f"sample at {t:.2f}", top=4)
    slider = box.children[0]
    assert slider.description == "temperature" and slider.value == 1.0
    slider.value = 2.0                                  # redraws without error
    ch06.temperature_explorer(logits(), CHARS)         # default top=10 > V=8: shows all 8


def test_top_larger_than_the_vocabulary_shows_every_symbol():
    fig = ch06.temperature_grid(logits(), CHARS, (1.0,), top=99)
    assert len(fig.axes[0].patches) == len(CHARS)


@pytest.mark.parametrize("kwargs, message", [
    (dict(logits=np.zeros((2, 8))), "shape (V,)"),
    (dict(chars="abc"), "len(chars)"),
    (dict(temperatures=(1.0, 0.0)), "positive"),
    (dict(temperatures=(-1.0,)), "positive"),
    (dict(top=0), "top"),
    (dict(top=2.5), "top"),
])
def test_temperature_grid_bad_input(kwargs, message):
    args = dict(logits=logits(), chars=CHARS, temperatures=(1.0,), top=3) | kwargs
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ch06.temperature_grid(args["logits"], args["chars"], args["temperatures"], top=args["top"])


def test_mappings_diagram_names_all_five_mappings():
    fig = ch06.draw_mappings()
    titles = " ".join(ax.get_title() for ax in fig.axes)
    for word in ("classification", "labelling", "generation", "translation", "separator"):
        assert word in titles


def test_confusion_counts_match_the_predictions():
    y_true = np.array([0, 0, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0, 2])
    fig = ch06.confusion_figure(y_true, y_pred, ["a", "b", "c"], title="t")
    written = {(round(t.get_position()[1]), round(t.get_position()[0])): int(t.get_text())
               for t in fig.axes[0].texts}
    expected = {(0, 0): 1, (0, 1): 1, (1, 1): 2, (2, 0): 1, (2, 2): 2}   # (true, predicted): count
    assert written == expected


# ----------------------------------------------------------------------------- 6a: the experiment
from rnnlab.data.digits import DigitsSplit, load_digits_rows  # noqa: E402


def test_row_lstm_reads_the_last_state_of_an_lstm_equal_to_torch():
    torch.manual_seed(0)
    model = ch06.RowLSTM(d_in=3, hidden=5, n_classes=4).double()
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
    fcn = ch06.FCN(d_in=8, n_classes=10).eval()
    x = torch.randn(5, 8, 8)
    with torch.no_grad():
        out = fcn(x)
        feats = fcn.body(x.transpose(1, 2))
    assert out.shape == (5, 10) and feats.shape == (5, 64, 8)      # padding keeps T
    torch.testing.assert_close(out, fcn.head(feats.mean(2)))
    with pytest.raises(ValueError, match=r"\(N, T, D\)"):
        fcn(torch.zeros(8, 8))


def test_digits_model_is_seeded():
    a, b = ch06.digits_model("FCN", seed=3), ch06.digits_model("FCN", seed=3)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    c = ch06.digits_model("RowLSTM", seed=4)
    assert not torch.equal(c.head.weight, ch06.digits_model("RowLSTM", seed=5).head.weight)
    with pytest.raises(ValueError, match="name"):
        ch06.digits_model("GRU")


def _tiny_digits(n_train=64, n_test=40):
    d = load_digits_rows()
    return DigitsSplit(d.x_train[:n_train], d.y_train[:n_train], d.x_test[:n_test], d.y_test[:n_test])


def test_train_digits_records_test_accuracy_every_epoch_and_decides_nothing_on_it():
    data = _tiny_digits()
    model = ch06.digits_model("RowLSTM", seed=0)
    hist = ch06.train_digits(model, data, lr=5e-3, epochs=2, batch_size=32, progress=False)
    steps, acc = hist.metric("test_acc")
    assert steps == [2, 4] and hist.num_steps == 4 and hist.stop_reason == "exhausted"
    assert acc[-1] == pytest.approx(ch06.digits_accuracy(model, data.x_test, data.y_test))
    assert hist.target is None


def test_digits_accuracy_and_head_by_step_count_correct_predictions():
    torch.manual_seed(1)
    model = ch06.RowLSTM(d_in=8, hidden=6, n_classes=10)
    x = torch.rand(30, 8, 8)
    with torch.no_grad():
        pred_last = model(x).argmax(1)
        pred_all = model.head(model.states(x)).argmax(-1)
    y = pred_last.clone()
    y[:6] = (y[:6] + 1) % 10                              # 6 of 30 wrong at the last step
    assert ch06.digits_accuracy(model, x, y) == pytest.approx(0.8)
    by_step = ch06.head_accuracy_by_step(model, x.numpy(), y.numpy())
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

    acc = ch06.probe_accuracy_by_step(states(y_tr), y_tr, states(y_te), y_te)
    assert acc.shape == (2,)
    assert acc[0] < 0.5 and acc[1] > 0.95                 # chance is 1/3
    with pytest.raises(ValueError, match="shapes"):
        ch06.probe_accuracy_by_step(states(y_tr)[:, :1], y_tr, states(y_te), y_te)
    with pytest.raises(ValueError, match="labels"):
        ch06.probe_accuracy_by_step(states(y_tr), y_tr[:-1], states(y_te), y_te)


def test_logistic_regression_baseline_is_a_linear_model_on_the_pixels():
    model, acc = ch06.logistic_regression_digits(_tiny_digits(400, 100))
    assert model.coef_.shape == (10, 64) and 0.8 < acc <= 1.0


def test_state_accuracy_figure():
    fig = ch06.state_accuracy_figure([0.4, 0.7, 1.0], [0.1, 0.1, 1.0], title="t")
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("rows read") and ax.get_ylabel() == "test accuracy"
    assert len(ax.get_legend().get_texts()) == 2
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.4, 0.7, 1.0])
    with pytest.raises(ValueError, match="one length"):
        ch06.state_accuracy_figure([0.4, 0.7], [0.1])

# ----------------------------------------------------------------------------- 6b-6d experiments
def test_wrap_lines_fits_the_width_and_keeps_the_text():
    text = "x" * 200 + "\nshort\n" + "y" * 88
    wrapped = ch06.wrap_lines(text, 88)
    assert max(len(line) for line in wrapped.split("\n")) <= 88
    assert wrapped.replace("\n↪", "") == text
    assert ch06.wrap_lines("ab   \n" + " " * 100, 88) == "ab\n"       # trailing spaces go
    with pytest.raises(ValueError, match="width"):
        ch06.wrap_lines(text, 1)


def test_tagger_packs_the_batch_so_padding_changes_nothing():
    torch.manual_seed(0)
    model = ch06.Tagger(vocab_size=20, n_tags=9, bidirectional=True).double()
    words = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    lengths = torch.tensor([4, 2])
    batched = model(words, lengths)
    alone = model(words[1:, :2], lengths[1:])
    torch.testing.assert_close(batched[1, :2], alone[0], rtol=0, atol=1e-12)
    mask = torch.arange(4)[None] < lengths[:, None]
    tags = torch.tensor([[1, 2, 0, 3], [4, 5, 0, 0]])
    expected = torch.nn.functional.cross_entropy(batched.transpose(1, 2),
                                                 tags.masked_fill(~mask, -100))
    torch.testing.assert_close(ch06.tagging_loss(model, (words, tags, lengths, mask)), expected,
                               rtol=0, atol=1e-12)


def test_carried_state_loss_equals_one_pass_and_cuts_the_gradient():
    torch.manual_seed(0)
    model = ch06.CharLM(vocab_size=11, emb=4, hidden=6).double()
    text = torch.randint(0, 11, (13, 2))
    x, y = text[:-1], text[1:]
    scores, _ = model(x)
    whole = torch.nn.functional.cross_entropy(scores[6:].flatten(0, 1), y[6:].flatten())
    loss = ch06.CarriedStateLoss()
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
    model = ch06.CharLM(vocab_size=11, emb=4, hidden=6).double()
    streams = torch.randint(0, 11, (40, 3))
    scores, _ = model(streams[:-1])
    nats = torch.nn.functional.cross_entropy(scores.flatten(0, 1), streams[1:].flatten())
    for window in (1, 7, 100):
        assert ch06.held_out_bpc(model, streams, window) == pytest.approx(
            nats.item() / np.log(2), rel=1e-12)


def test_generate_text_keeps_the_prompt_and_is_seeded():
    from rnnlab.data.text import CharVocab

    torch.manual_seed(0)
    vocab = CharVocab()
    model = ch06.CharLM(vocab.size, emb=4, hidden=6)
    a = ch06.generate_text(model, vocab, "def f(", 1.0, length=20, batch=3, seed=5)
    assert len(a) == 3 and all(s.startswith("def f(") and len(s) == 26 for s in a)
    assert a == ch06.generate_text(model, vocab, "def f(", 1.0, length=20, batch=3, seed=5)
    surprise, distinct = ch06.temperature_effects(model, vocab, [0.5, 2.0], length=30, batch=2)
    assert len(surprise) == 2 and all(0 < d <= 1 for d in distinct)


def test_seq2seq_step_by_step_equals_teacher_forcing():
    from rnnlab.data import dates as D

    torch.manual_seed(0)
    vocab = D.DateVocab()
    train, _ = D.make_date_split(n_train=5, n_test=1, seed=0)
    src, src_len, tgt_in, _ = (torch.from_numpy(a) for a in D.encode_pairs(train, vocab))
    model = ch06.Seq2Seq(vocab.size, emb=8, hidden=10).double()
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
    model = ch06.SeparatorTranslator(vocab.size, emb=8, hidden=10).double()
    first_scores, _ = model.step(torch.full((6,), model.first),
                                 model.encode(torch.from_numpy(enc.src),
                                              torch.from_numpy(enc.src_len)))
    full = model(torch.from_numpy(sep.inputs))        # reads source, <sep>, target
    at_sep = full[torch.arange(6), torch.from_numpy(sep.sep_pos)]
    torch.testing.assert_close(first_scores, at_sep, rtol=0, atol=1e-12)
    greedy, _ = ch06.translate(model, enc.src, enc.src_len, vocab)
    beam1, _ = ch06.translate(model, enc.src, enc.src_len, vocab, beam=1)
    assert greedy == beam1                            # beam search with k = 1 is greedy
