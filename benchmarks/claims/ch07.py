"""Chapter 7's training results: parity beyond the training length (book/07_parallel_recurrence)
the adding problem (book/07b_min_rnn_adding) and the character model (book/07c_min_rnn_characters).

Every ``run(seed)`` calls the same ``rnnlab.experiments.ch07`` function with the same arguments as
the notebook, after ``rnnlab.setup(seed=seed)``; the notebooks use seed 0.
"""
from __future__ import annotations

import rnnlab
from benchmarks.claims import Claim

BOOK = "book/07_parallel_recurrence.ipynb"
BOOK_B = "book/07b_min_rnn_adding.ipynb"
BOOK_C = "book/07c_min_rnn_characters.ipynb"
PARITY_LENGTHS = (32, 64, 128, 256, 512)
CHAR_SPECS = {"lstm": (128, 1), "gru": (150, 1), "mingru": (186, 2), "minlstm": (150, 2)}


# ----------------------------------------------------------------------------- parity (07)
def _parity(cell: str, seed: int) -> dict[int, float]:
    from rnnlab.experiments import ch07

    rnnlab.setup(seed=seed)
    run = ch07.train_parity(cell, length=32, steps=600, seed=seed)
    return ch07.parity_accuracy(run.model, PARITY_LENGTHS)


def _parity_claim(id_, text, cell, reduce, book, threshold, sense):
    return Claim(id=id_, text=text, notebook=BOOK, book=book, threshold=threshold, sense=sense,
                 run=lambda seed: reduce(_parity(cell, seed)), fmt="{:.1%}")


# ----------------------------------------------------------------------------- adding (07b)
def _adding_steps(cell: str, length: int, seed: int) -> float:
    from rnnlab.experiments import ch07

    rnnlab.setup(seed=seed)
    result = ch07.train_adding_cell(cell, length, steps=3000, seed=seed)
    return float(result.steps) if result.solved else float("inf")


# ----------------------------------------------------------------------------- characters (07c)
def _char_bpc(cell: str, seed: int) -> float:
    from rnnlab.experiments import ch07

    rnnlab.setup(seed=seed)
    hidden, layers = CHAR_SPECS[cell]
    return ch07.train_char_model(cell, hidden, layers, steps=400, seed=seed).bpc


CLAIMS = [
    _parity_claim("07.parity_lstm",
                  "LSTM: parity right at every length up to 16x the training (worst length)",
                  "lstm", lambda acc: min(acc.values()), 1.0, 0.95, ">="),
    _parity_claim("07.parity_gru",
                  "GRU: parity right at every length up to 16x the training (worst length)",
                  "gru", lambda acc: min(acc.values()), 1.0, 0.95, ">="),
    _parity_claim("07.parity_mingru", "minGRU: parity at chance at every length (best length)",
                  "mingru", lambda acc: max(acc.values()), 0.528, 0.65, "<="),
    _parity_claim("07.parity_neg_train", "minGRU, a in (-1, 1): parity right at the training length",
                  "mingru-neg", lambda acc: acc[32], 1.0, 0.95, ">="),
    _parity_claim("07.parity_neg_64", "minGRU, a in (-1, 1): parity at twice the training length",
                  "mingru-neg", lambda acc: acc[64], 0.912, 0.85, ">="),
    _parity_claim("07.parity_neg_128", "minGRU, a in (-1, 1): parity at chance at 4x the length",
                  "mingru-neg", lambda acc: acc[128], 0.572, 0.65, "<="),
    _parity_claim("07.parity_neg_512", "minGRU, a in (-1, 1): parity at chance at 16x the length",
                  "mingru-neg", lambda acc: acc[512], 0.484, 0.65, "<="),
]

ADDING_BOOK = {("lstm", 100): 700, ("gru", 100): 250, ("mingru", 100): 700, ("minlstm", 100): 550,
               ("lstm", 200): 1100, ("gru", 200): 300, ("mingru", 200): 850, ("minlstm", 200): 700}
CHAR_BOOK = {"lstm": 2.087, "gru": 1.950, "mingru": 2.064, "minlstm": 2.090}

for _cell, _name in (("lstm", "LSTM"), ("gru", "GRU"), ("mingru", "minGRU"), ("minlstm", "minLSTM")):
    for _T in (100, 200):
        CLAIMS.append(Claim(
            id=f"07b.adding_{_cell}_{_T}", text=f"{_name} solves the adding problem at T = {_T} "
            f"(steps to val MSE <= 0.01)", notebook=BOOK_B, book=ADDING_BOOK[_cell, _T],
            threshold=3000, sense="<=", run=lambda seed, c=_cell, T=_T: _adding_steps(c, T, seed),
            fmt="{:.0f}"))
    CLAIMS.append(Claim(
        id=f"07c.char_{_cell}", text=f"{_name}, about 118k parameters, 400 steps: held-out bits "
        "per character", notebook=BOOK_C, book=CHAR_BOOK[_cell], threshold=2.3, sense="<=",
        run=lambda seed, c=_cell: _char_bpc(c, seed), fmt="{:.3f}"))


def _char_spread(seed: int) -> float:
    values = [_char_bpc(cell, seed) for cell in CHAR_SPECS]
    return max(values) - min(values)


CLAIMS.append(Claim(
    id="07c.char_spread", text="the four models at equal parameters and steps: largest minus "
    "smallest held-out bits per character", notebook=BOOK_C, book=0.140, threshold=0.25,
    sense="<=", run=_char_spread, fmt="{:.3f}"))
