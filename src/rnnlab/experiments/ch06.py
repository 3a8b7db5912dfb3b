"""The models and experiments of chapter 6: the four sequence mappings, trained end to end.

Each notebook and its robustness claims (``benchmarks/claims/ch06a.py`` ...) run one copy:

- 6a, classification: :class:`RowLSTM` and :class:`FCN` (:func:`digits_model`,
  :func:`train_digits`, :func:`digits_accuracy`), the linear baseline
  :func:`logistic_regression_digits`, and what each hidden state knows
  (:func:`probe_accuracy_by_step`, :func:`head_accuracy_by_step`);
- 6b, labelling: the slot :class:`Tagger` (:func:`tagging_loss`, :func:`train_tagger`,
  :func:`predict_tags`);
- 6c, generation: the character language model :class:`CharLM` with :class:`CarriedStateLoss`,
  :func:`train_char_lm`, :func:`held_out_bpc`, :func:`generate_text` and
  :func:`temperature_effects`; the class-conditioned :class:`ConditionalGenerator`
  (:func:`train_conditional_generator`, :func:`sample_classes`, :func:`date_generation_scores`);
- 6d, translation: :class:`Seq2Seq` and :class:`SeparatorTranslator` with :func:`fit_one_cycle`
  and :func:`translate`.

Training goes through :func:`rnnlab.train.fit`; the figures are in :mod:`rnnlab.viz.ch06`.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnlab.modules as rm
from rnnlab._setup import device as _device
from rnnlab.data import dates as D
from rnnlab.data import slots
from rnnlab.data import text as T
from rnnlab.data.digits import DigitsSplit, minibatches, shift_rows
from rnnlab.train import decode, fit

__all__ = [
    # 6a
    "DIGITS_EPOCHS", "DIGITS_BATCH", "DIGITS_LR", "RowLSTM", "FCN", "digits_model",
    "train_digits", "digits_accuracy", "logistic_regression_digits", "probe_accuracy_by_step",
    "head_accuracy_by_step",
    # 6b
    "Tagger", "tagging_loss", "predict_tags", "train_tagger",
    # 6c
    "CharLM", "CarriedStateLoss", "held_out_bpc", "train_char_lm", "generate_text",
    "temperature_effects", "ConditionalGenerator", "generator_loss", "sample_classes",
    "train_conditional_generator", "date_generation_scores",
    # 6d
    "Seq2Seq", "seq2seq_loss", "SeparatorTranslator", "separator_loss", "fit_one_cycle",
    "translate",
]


# ----------------------------------------------------------------------------- 6a: classification
# The models and the training recipe of 06a_classification, shared by the notebook and its
# robustness claims (benchmarks/claims/ch06a.py).

#: The recipe of every network in 06a: epochs, batch size, peak learning rates (one-cycle).
DIGITS_EPOCHS, DIGITS_BATCH = 60, 32
DIGITS_LR = {"RowLSTM": 5e-3, "FCN": 3e-3}


class RowLSTM(nn.Module):
    """Many-to-one classifier: ``rnnlab.modules.LSTM`` over the rows, a linear head on
    the last step's output. ``forward(x)``: ``x`` ``(N, T, D)`` -> class scores
    ``(N, n_classes)``; :meth:`states`: every step's hidden state ``(N, T, H)``."""

    def __init__(self, d_in: int = 8, hidden: int = 128, n_classes: int = 10):
        super().__init__()
        self.lstm = rm.LSTM(d_in, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_classes)

    def states(self, x):
        """``h_1 .. h_T`` for a batch ``x`` ``(N, T, D)``: ``(N, T, H)``."""
        if x.dim() != 3:
            raise ValueError(f"x must have shape (N, T, D), got {tuple(x.shape)}")
        return self.lstm(x)[0]

    def forward(self, x):
        return self.head(self.states(x)[:, -1])          # read the last step only


def _conv_block(c_in: int, c_out: int, k: int):
    return nn.Sequential(nn.Conv1d(c_in, c_out, k, padding=k // 2), nn.BatchNorm1d(c_out),
                         nn.ReLU())


class FCN(nn.Module):
    """A smaller version of the fully convolutional network of Wang et al. (2017):
    three 1-d convolutions over time (64, 128, 64 channels, kernels 5, 3, 3; the paper
    has 128, 256, 128 and 8, 5, 3), each followed by batch normalisation and ReLU, the
    average over time, a linear classifier.
    ``forward(x)``: ``(N, T, D)`` -> class scores ``(N, n_classes)``."""

    def __init__(self, d_in: int = 8, n_classes: int = 10):
        super().__init__()
        self.body = nn.Sequential(_conv_block(d_in, 64, 5), _conv_block(64, 128, 3),
                                  _conv_block(128, 64, 3))
        self.head = nn.Linear(64, n_classes)

    def forward(self, x):
        if x.dim() != 3:
            raise ValueError(f"x must have shape (N, T, D), got {tuple(x.shape)}")
        return self.head(self.body(x.transpose(1, 2)).mean(dim=2))


def digits_accuracy(model, x, y) -> float:
    """Fraction of the sequences ``x`` ``(N, T, D)`` whose predicted class equals ``y`` ``(N,)``
    (arrays or tensors; evaluated in ``eval()`` mode, without gradients)."""
    x = torch.as_tensor(x, dtype=next(model.parameters()).dtype)
    y = torch.as_tensor(y)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        pred = model(x.to(next(model.parameters()).device)).argmax(1).cpu()
    model.train(was_training)
    return float((pred == y).float().mean())


def train_digits(model, data: DigitsSplit, *, lr: float, seed: int = 0,
                 epochs: int = DIGITS_EPOCHS, batch_size: int = DIGITS_BATCH,
                 progress: bool = True):
    """Train ``model`` on ``data`` with 06a's recipe and return its :class:`rnnlab.train.History`.

    Adam with a one-cycle schedule peaking at ``lr``, global-norm clipping at 1, shuffled batches
    of ``batch_size`` for ``epochs`` epochs (:func:`rnnlab.data.digits.minibatches`, seed
    ``seed``), every training image moved by up to one pixel (:func:`~rnnlab.data.digits.shift_rows`).
    The test accuracy is recorded after every epoch (``"test_acc"``) to draw curves; nothing is
    decided from it: no early stopping, a fixed number of epochs.
    """
    device = next(model.parameters()).device
    x_test = torch.from_numpy(data.x_test).to(device)
    y_test = torch.from_numpy(data.y_test).to(device)
    steps_per_epoch = -(-len(data.x_train) // batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    batches = minibatches((data.x_train, data.y_train), batch_size, epochs, seed,
                          transform=shift_rows)

    def loss(m, batch):
        x, y = batch
        return nn.functional.cross_entropy(m(x), y)

    def test_acc(m):
        return {"test_acc": float((m(x_test).argmax(1) == y_test).float().mean())}

    return fit(model, loss, batches, optimizer=opt, scheduler=sched, clip=1.0, eval_fn=test_acc,
               eval_every=steps_per_epoch, progress=progress, desc=type(model).__name__)


def digits_model(name: str, seed: int = 0):
    """A fresh ``"RowLSTM"`` or ``"FCN"``, its weights drawn after ``torch.manual_seed(seed)``."""
    models = {"RowLSTM": RowLSTM, "FCN": FCN}
    if name not in models:
        raise ValueError(f"name must be one of {sorted(models)}, got {name!r}")
    torch.manual_seed(seed)
    return models[name]()


def logistic_regression_digits(data: DigitsSplit):
    """The linear baseline of 06a: scikit-learn's ``LogisticRegression`` on the 64 pixels of each
    image at once. Returns ``(fitted model, test accuracy)``."""
    # deferred: scikit-learn takes about 1.5 s to import and only 6a's baseline and probes use it
    from sklearn.linear_model import LogisticRegression

    flat = lambda x: x.reshape(len(x), -1)
    model = LogisticRegression(max_iter=5000).fit(flat(data.x_train), data.y_train)
    return model, float(model.score(flat(data.x_test), data.y_test))


def probe_accuracy_by_step(states_train, y_train, states_test, y_test) -> np.ndarray:
    """What each hidden state knows about the class: a logistic-regression probe per step.

    ``states_train`` ``(N_train, T, H)``, ``states_test`` ``(N_test, T, H)``: the hidden states of
    a trained network; for every step ``t`` a probe is fitted on the training states at ``t`` and
    scored on the held-out states at ``t``. Returns ``(T,)`` test accuracies.
    """
    from sklearn.linear_model import LogisticRegression  # deferred, as above

    s_tr, s_te = np.asarray(states_train, dtype=np.float64), np.asarray(states_test, dtype=np.float64)
    if s_tr.ndim != 3 or s_te.ndim != 3 or s_tr.shape[1:] != s_te.shape[1:]:
        raise ValueError("states_train and states_test must have shapes (N_train, T, H) and "
                         f"(N_test, T, H), got {s_tr.shape} and {s_te.shape}")
    if len(y_train) != len(s_tr) or len(y_test) != len(s_te):
        raise ValueError(f"y_train and y_test must have N_train = {len(s_tr)} and N_test = "
                         f"{len(s_te)} labels, got {len(y_train)} and {len(y_test)}")
    acc = []
    for t in range(s_tr.shape[1]):
        probe = LogisticRegression(max_iter=5000).fit(s_tr[:, t], y_train)
        acc.append(probe.score(s_te[:, t], y_test))
    return np.array(acc)


def head_accuracy_by_step(model: RowLSTM, x, y) -> np.ndarray:
    """Accuracy of ``model``'s own head (trained on the last state only) applied to every state
    ``h_1 .. h_T`` of the sequences ``x`` ``(N, T, D)``: ``(T,)``."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        x = torch.as_tensor(x, dtype=next(model.parameters()).dtype)
        pred = model.head(model.states(x)).argmax(-1)              # (N, T)
    model.train(was_training)
    return (pred == torch.as_tensor(y)[:, None]).float().mean(0).numpy().astype(np.float64)


# --------------------------------------------------------------------- labelling (6b)
class Tagger(nn.Module):
    """The slot tagger of notebook 6b: embed each word, run an LSTM over the sentence
    (one or both directions), map each step's output to tag scores.

    ``forward(words, lengths)``: padded word ids (N, T) and true lengths (N,) -> scores
    (N, T, n_tags). The padded batch is packed, so the recurrence (in both directions)
    sees only the real words."""

    def __init__(self, vocab_size: int, n_tags: int, bidirectional: bool, emb: int = 32,
                 hidden: int = 64):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb, padding_idx=slots.WordVocab.PAD)
        self.lstm = rm.LSTM(emb, hidden, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), n_tags)

    def forward(self, words, lengths):
        packed = pack_padded_sequence(self.embed(words), lengths.cpu(),
                                      batch_first=True, enforce_sorted=False)
        output, _ = self.lstm(packed)
        output, _ = pad_packed_sequence(output, batch_first=True,
                                        total_length=words.shape[1])
        return self.head(output)


def tagging_loss(model: Tagger, batch) -> torch.Tensor:
    """The masked cross-entropy (eq-ch6-masked): the mean over real words only (batch:
    ``words, tags, lengths, mask`` of :class:`rnnlab.data.slots.TaggedBatch`)."""
    words, tags, lengths, mask = batch
    logits = model(words, lengths)
    return nn.functional.cross_entropy(logits[mask], tags[mask])


def predict_tags(model: Tagger, sentences, vocab) -> list[list[str]]:
    """The most probable tag of every word of every sentence."""
    enc = slots.encode_tagged(sentences, vocab)
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        words = torch.from_numpy(enc.words).to(device)
        ids = model(words, torch.from_numpy(enc.lengths))
    return [[slots.TAGS[i] for i in row[:n]]
            for row, n in zip(ids.argmax(-1).cpu().tolist(), enc.lengths)]


def train_tagger(train, vocab, bidirectional: bool, *, seed: int = 0, epochs: int = 6,
                 batch_size: int = 32, lr: float = 3e-3, **fit_kwargs):
    """Train a :class:`Tagger` on the sentences ``train`` (weights and batch order drawn
    from ``seed``) with Adam, gradient clipping at 1 and one evaluation point per epoch;
    further keywords go to :func:`rnnlab.train.fit`. Returns ``(model, history)``."""
    enc = slots.encode_tagged(train, vocab)
    torch.manual_seed(seed)
    model = Tagger(vocab.size, len(slots.TAGS), bidirectional).to(_device())
    batches = slots.minibatches(tuple(enc), batch_size, epochs, seed=seed)
    history = fit(model, tagging_loss, batches, lr=lr, clip=1.0,
                  eval_every=-(-len(train) // batch_size), **fit_kwargs)
    return model, history


# ------------------------------------------------------------- the language model (6c)
class CharLM(nn.Module):
    """The character language model of notebook 6c: embedding, one LSTM layer, linear
    readout.

    ``forward(x, state)``: ids (T, N) -> scores (T, N, K) and the final state
    ``(h, c)``. ``step(tokens, state)``: one character, (N,) -> scores (N, K), for
    :mod:`rnnlab.train.decode`."""

    def __init__(self, vocab_size: int, emb: int = 64, hidden: int = 160):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb)
        self.lstm = rm.LSTM(emb, hidden)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, x, state=None):
        output, state = self.lstm(self.embed(x), state)
        return self.head(output), state

    def step(self, tokens, state):
        scores, state = self(tokens[None], state)
        return scores[0], state


class CarriedStateLoss:
    """The loss of truncated BPTT over parallel streams, with the carried state on the
    object.

    Called as ``loss(model, (x, y, reset))`` on the windows of
    :func:`rnnlab.data.text.bptt_epochs`: it starts from ``self.state``, the state the
    previous window ended in, detached so that gradients stop at the window boundary, or
    from zeros when ``reset`` says the streams start again; it keeps the new final state
    for the next window."""

    def __init__(self):
        self.state = None

    def __call__(self, model: CharLM, batch) -> torch.Tensor:
        x, y, reset = batch
        if reset or self.state is None:
            self.state = None
        else:
            self.state = tuple(s.detach() for s in self.state)  # cut the backward pass
        scores, self.state = model(x, self.state)
        return nn.functional.cross_entropy(scores.flatten(0, 1), y.flatten())


def held_out_bpc(model: CharLM, streams: torch.Tensor, window: int = 256) -> float:
    """Bits per character of ``model`` on parallel ``streams`` (T, N) of held-out ids,
    read in windows of ``window`` steps with the state carried across (no gradients)."""
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        for start in range(0, streams.shape[0] - 1, window):
            y = streams[start + 1:start + 1 + window]
            scores, state = model(streams[start:start + len(y)], state)
            total += nn.functional.cross_entropy(scores.flatten(0, 1), y.flatten(),
                                                 reduction="sum").item()
            count += y.numel()
    return total / count / math.log(2)


def train_char_lm(train_streams: np.ndarray, val_streams: np.ndarray, vocab_size: int,
                  *,
                  seed: int = 0, steps: int = 1300, warmup: int = 50, lr: float = 0.015,
                  seq_len: int = 64, eval_every: int = 260, **fit_kwargs):
    """Train a :class:`CharLM` by truncated BPTT on ``train_streams`` (T, N): windows of
    ``seq_len`` steps, Adam with a linear warm-up over ``warmup`` steps and a linear
    decay to 0 at ``steps``, gradient clipping at 1; the held-out bits per character
    (``"val_bpc"``) every ``eval_every`` steps. Weights and window offsets are drawn
    from ``seed``. Returns ``(model, history)``."""
    torch.manual_seed(seed)
    model = CharLM(vocab_size).to(_device())
    val = torch.from_numpy(np.asarray(val_streams)).to(_device())
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, (k + 1) / warmup) * max(0.0, 1 - k / steps))
    epochs = -(-steps * seq_len // train_streams.shape[0])
    windows = T.bptt_epochs(train_streams, seq_len, epochs, seed)
    history = fit(model, CarriedStateLoss(), windows, steps=steps, optimizer=opt,
                  scheduler=sched, clip=1.0, eval_every=eval_every,
                  eval_fn=lambda m: {"val_bpc": held_out_bpc(m, val)}, **fit_kwargs)
    return model, history


def generate_text(model: CharLM, vocab, prompt: str, temperature: float,
                  length: int = 300, batch: int = 1, seed: int = 0) -> list[str]:
    """``batch`` continuations of ``prompt``, ``length`` characters each, sampled at
    ``temperature`` (the noise seeded by ``seed``); each string starts with the prompt.
    """
    device = next(model.parameters()).device
    ids = torch.from_numpy(vocab.encode(prompt)).to(device)[:, None].repeat(1, batch)
    model.eval()
    with torch.no_grad():
        state = model(ids[:-1])[1] if len(prompt) > 1 else None  # all but the last
        out = decode.sample_sequence(model.step, ids[-1], state, length, temperature,
                                     torch.Generator().manual_seed(seed))
    return [prompt + vocab.decode(row) for row in out.cpu().numpy()]


def temperature_effects(model: CharLM, vocab, temperatures: Sequence[float], *,
                        prompt: str = "def ", length: int = 500, batch: int = 8,
                        seed: int = 2, gram: int = 8
                        ) -> tuple[list[float], list[float]]:
    """Two measurements per temperature on ``batch`` samples of ``length`` characters:
    the model's own bits per character on them (read at T = 1), and the share of
    distinct ``gram``-character strings among all of them. Returns ``(surprise_bits,
    distinct)``."""
    device = next(model.parameters()).device
    surprise, distinct = [], []
    for temperature in temperatures:
        samples = generate_text(model, vocab, prompt, temperature, length, batch, seed)
        ids = np.stack([vocab.encode(s) for s in samples], axis=1)
        ids = torch.from_numpy(ids).to(device)
        with torch.no_grad():
            scores, _ = model(ids[:-1])
            nats = nn.functional.cross_entropy(scores.flatten(0, 1), ids[1:].flatten())
        surprise.append(nats.item() / math.log(2))
        grams = [s[i:i + gram] for s in samples for i in range(len(s) - gram + 1)]
        distinct.append(len(set(grams)) / len(grams))
    return surprise, distinct


# ------------------------------------------------------- conditional generation (6c)
class ConditionalGenerator(nn.Module):
    """A character generator told which class of string to write (notebook 6c): the
    class picks the initial state, ``h_0 = tanh(E_h[class])``, ``c_0 = E_c[class]``; the
    LSTM then writes one character at a time from ``<bos>``.

    ``forward(tokens, c)``: teacher forcing, (N, U) -> scores (N, U, K). ``step`` for
    :mod:`rnnlab.train.decode`, from ``initial_state(c)``."""

    def __init__(self, vocab_size: int, n_classes: int, emb: int = 24,
                 hidden: int = 96):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb, padding_idx=D.PAD)
        self.init_h = nn.Embedding(n_classes, hidden)
        self.init_c = nn.Embedding(n_classes, hidden)
        self.lstm = rm.LSTM(emb, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def initial_state(self, c):                   # eq-ch6-conditional; each (1, N, H)
        return torch.tanh(self.init_h(c))[None], self.init_c(c)[None]

    def forward(self, tokens, c):
        output, _ = self.lstm(self.embed(tokens), self.initial_state(c))
        return self.head(output)

    def step(self, tokens, state):
        output, state = self.lstm(self.embed(tokens)[:, None], state)
        return self.head(output[:, 0]), state


def generator_loss(model: ConditionalGenerator, batch) -> torch.Tensor:
    """Cross-entropy of every character and ``<eos>``, padding ignored (batch: inputs
    ``<bos> text``, targets ``text <eos>``, classes)."""
    tokens_in, tokens_out, c = batch
    scores = model(tokens_in, c)
    return nn.functional.cross_entropy(scores.transpose(1, 2), tokens_out,
                                       ignore_index=D.PAD)


def sample_classes(model: ConditionalGenerator, c: int, vocab: D.DateVocab,
                   n: int = 200, temperature: float = 1.0, seed: int = 0,
                   max_len: int = 24) -> list[str]:
    """``n`` strings of class ``c`` drawn from ``model`` (the noise seeded by ``seed``).
    """
    device = next(model.parameters()).device
    cls = torch.full((n,), c, dtype=torch.long, device=device)
    model.eval()
    with torch.no_grad():
        out = decode.sample_sequence(model.step, torch.full((n,), D.BOS, device=device),
                                     model.initial_state(cls), steps=max_len,
                                     temperature=temperature,
                                     generator=torch.Generator().manual_seed(seed))
    return [vocab.decode(row) for row in out.cpu().numpy()]


def train_conditional_generator(tokens_in: np.ndarray, tokens_out: np.ndarray,
                                classes: np.ndarray, n_classes: int, vocab_size: int, *,
                                seed: int = 0, epochs: int = 6, batch_size: int = 64,
                                lr: float = 5e-3, **fit_kwargs):
    """Train a :class:`ConditionalGenerator` with teacher forcing (Adam, clipping at 1)
    on strings ``tokens_in`` -> ``tokens_out`` (N, U) of classes (N,); weights and batch
    order are drawn from ``seed``. Returns ``(model, history)``."""
    torch.manual_seed(seed)
    model = ConditionalGenerator(vocab_size, n_classes).to(_device())
    batches = D.minibatches((tokens_in, tokens_out, classes), batch_size, epochs,
                            seed=seed)
    history = fit(model, generator_loss, batches, lr=lr, clip=1.0, **fit_kwargs)
    return model, history


def date_generation_scores(model: ConditionalGenerator, vocab, seen: set[str],
                           n: int = 200) -> dict[str, list]:
    """Per date format ``k``: ``n`` samples drawn with noise seed ``k``; the share that
    are valid dates in format ``k`` (any weekday name accepted), among those the share
    of dates not in ``seen`` (ISO strings), and for the weekday format the share whose
    weekday is right. Returns ``{"samples", "valid", "novel", "weekday_right"}`` (lists
    over the formats; ``weekday_right`` a float)."""
    out = {"samples": [], "valid": [], "novel": []}
    for k in range(len(D.DATE_FORMATS)):
        samples = sample_classes(model, k, vocab, n=n, seed=k)
        parsed = [D.parse_date(s, k, check_weekday=False) for s in samples]
        valid = [(s, p) for s, p in zip(samples, parsed) if p is not None]
        out["samples"].append(samples)
        out["valid"].append(len(valid) / n)
        novel = [p.isoformat() not in seen for _, p in valid]
        out["novel"].append(float(np.mean(novel)))
        if D.DATE_FORMATS[k] == "weekday day mon year":
            out["weekday_right"] = float(np.mean([D.parse_date(s, k) is not None
                                                  for s, _ in valid]))
    return out


# ------------------------------------------------------------------- translation (6d)
class Seq2Seq(nn.Module):
    """The encoder–decoder of notebook 6d: an LSTM reads the source, its final
    ``(h, c)`` starts a second LSTM that writes the target; one embedding (``emb``)
    serves both sides.

    ``encode(src, src_len)``: source ids (N, S), true lengths (N,) -> the encoder's
    final state ``(h, c)``, each (1, N, H), taken at every row's true end (packed).
    ``forward(src, src_len, tgt_in)``: teacher forcing, decoder inputs (N, U) -> scores
    (N, U, K). ``step(tokens, state)``: one decoder step, (N,) -> scores (N, K), for
    :mod:`rnnlab.train.decode`, starting from ``first`` (``<bos>``)."""

    first = D.BOS

    def __init__(self, vocab_size: int, emb: int = 32, hidden: int = 128):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb, padding_idx=D.PAD)
        self.encoder = rm.LSTM(emb, hidden, batch_first=True)
        self.decoder = rm.LSTM(emb, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def encode(self, src, src_len):
        packed = pack_padded_sequence(self.embed(src), src_len.cpu(), batch_first=True,
                                      enforce_sorted=False)
        return self.encoder(packed)[1]

    def forward(self, src, src_len, tgt_in):
        output, _ = self.decoder(self.embed(tgt_in), self.encode(src, src_len))
        return self.head(output)

    def step(self, tokens, state):
        output, state = self.decoder(self.embed(tokens)[:, None], state)
        return self.head(output[:, 0]), state


def seq2seq_loss(model: Seq2Seq, batch) -> torch.Tensor:
    """Mean cross-entropy of every target character, ``<eos>`` included (batch: ``src,
    src_len, tgt_in, tgt_out`` of :class:`rnnlab.data.dates.Seq2SeqBatch`; the targets
    hold no padding)."""
    src, src_len, tgt_in, tgt_out = batch
    scores = model(src, src_len, tgt_in)
    return nn.functional.cross_entropy(scores.transpose(1, 2), tgt_out)


class SeparatorTranslator(nn.Module):
    """One LSTM that reads ``source <sep> target`` and predicts every next symbol
    (notebook 6d).

    ``forward(tokens)``: (N, T) -> scores (N, T, K). ``encode(src, src_len)``: the state
    after reading each source to its true end; decoding then starts from ``first``
    (``<sep>``) with ``step``, exactly like :class:`Seq2Seq`."""

    first = D.SEP

    def __init__(self, vocab_size: int, emb: int = 32, hidden: int = 128):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb, padding_idx=D.PAD)
        self.lstm = rm.LSTM(emb, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, tokens):
        return self.head(self.lstm(self.embed(tokens))[0])

    def encode(self, src, src_len):
        packed = pack_padded_sequence(self.embed(src), src_len.cpu(), batch_first=True,
                                      enforce_sorted=False)
        return self.lstm(packed)[1]

    def step(self, tokens, state):
        output, state = self.lstm(self.embed(tokens)[:, None], state)
        return self.head(output[:, 0]), state


def separator_loss(model: SeparatorTranslator, batch) -> torch.Tensor:
    """Cross-entropy over the positions from ``<sep>`` on (batch: ``inputs, targets,
    mask`` of :class:`rnnlab.data.dates.SeparatorBatch`)."""
    tokens, targets, mask = batch
    return nn.functional.cross_entropy(model(tokens)[mask], targets[mask])


def fit_one_cycle(model: nn.Module, loss_fn: Callable, arrays: Sequence[np.ndarray], *,
                  epochs: int, batch_size: int, lr: float, seed: int,
                  pct_start: float = 0.15, **fit_kwargs):
    """Train with Adam and a one-cycle learning rate (peak ``lr`` after ``pct_start`` of
    the steps) on shuffled minibatches of ``arrays`` (their order a function of
    ``seed``), through :func:`rnnlab.train.fit`; further keywords go to ``fit``. Returns
    its ``History``."""
    steps = epochs * -(-len(arrays[0]) // batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=pct_start)
    batches = D.minibatches(tuple(arrays), batch_size, epochs, seed=seed)
    return fit(model, loss_fn, batches, optimizer=opt, scheduler=sched, clip=1.0,
               **fit_kwargs)


def translate(model: nn.Module, src, src_len, vocab: D.DateVocab,
              beam: int | None = None, max_len: int = 12):
    """Decode a batch of sources with ``model`` (:class:`Seq2Seq` or
    :class:`SeparatorTranslator`): greedy, or beam search with ``beam`` hypotheses.
    Returns ``(strings, decoded)`` with ``decoded`` the
    :class:`rnnlab.train.decode.Decoded` or ``BeamResult``."""
    src = torch.as_tensor(src).to(next(model.parameters()).device)
    src_len = torch.as_tensor(src_len)
    model.eval()
    with torch.no_grad():
        state = model.encode(src, src_len)
        if beam is None:
            out = decode.greedy_decode(model.step, model.first, state, max_len=max_len,
                                       eos=D.EOS, batch_size=len(src))
        else:
            out = decode.beam_search(model.step, model.first, state, beam_size=beam,
                                     max_len=max_len, eos=D.EOS, batch_size=len(src))
    return [vocab.decode(row) for row in out.tokens.cpu().numpy()], out
