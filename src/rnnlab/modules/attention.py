r"""Attention over an encoder's states, and the encoder–decoder of chapter 6 with and without it.

Three scoring functions, one module each, batch first, all with the same call::

    context, weights = attention(query, keys, values=None, mask=None)

``query`` (B, d_q) for one decoder step or (B, U, d_q) for all U steps at once (teacher forcing),
``keys`` (B, S, d_k), ``values`` (B, S, d_v) (default: the keys), ``mask`` (B, S) bool, True at the
positions that may be attended to (padding is False). Returns ``context`` (B, [U,] d_v) and the
weights (B, [U,] S), which sum to one over the valid positions of a row; a row with no valid
position gets zero weights and a zero context (as ``torch.nn.functional.scaled_dot_product_attention``
does), never NaN.

===============================  ==========================================================
:class:`DotAttention`            :math:`e_s = \lambda\, q^\top k_s` (Luong et al. 2015), :math:`\lambda = 1`
                                 or :math:`1/\sqrt{d_k}` (``scaled=True``, Vaswani et al. 2017)
:class:`GeneralAttention`        :math:`e_s = q^\top W_a k_s` (Luong et al. 2015)
:class:`AdditiveAttention`       :math:`e_s = w_e^\top \tanh(W_q q + W_k k_s + b_e)` (Bahdanau et al. 2015)
===============================  ==========================================================

The part of a score that depends only on the keys (:math:`W_a k_s`, :math:`W_k k_s + b_e`) is the
same at every decoder step, so each module splits its work in two: :meth:`prepare_keys` once per
source, :meth:`attend` once per step. ``forward`` is the two in a row.

:class:`EncoderDecoder` is chapter 6's translator (an LSTM encoder whose final state starts an LSTM
decoder) with an optional attention layer in Luong et al.'s place, on top of the decoder: the
decoder state :math:`h^d_u` is the query, the encoder states are keys and values, and the
prediction reads :math:`\tilde h_u = \tanh(W_c [\bar v_u, h^d_u])` instead of :math:`h^d_u`.
Its :meth:`~EncoderDecoder.start` and :meth:`~EncoderDecoder.step` plug into
:mod:`rnnlab.train.decode` (greedy and beam search; the state is batch first, so pass
``batch_dim=0`` to ``beam_search``).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ._errors import check_bool, check_size, check_tensor
from .layers import LSTM

SCORES = ("dot", "scaled_dot", "general", "additive")


def masked_softmax(scores: Tensor, mask: Tensor | None = None) -> Tensor:
    """Softmax over the last dimension restricted to the positions where ``mask`` is True.

    Masked positions get exactly 0; a row without any True position gets all zeros. ``mask`` has
    ``scores``' shape or broadcasts to it.
    """
    if mask is None:
        return torch.softmax(scores, dim=-1)
    scores = scores.masked_fill(~mask, float("-inf"))
    top = scores.amax(dim=-1, keepdim=True).detach()
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))  # an empty row: any shift
    p = torch.exp(scores - top)  # exp(-inf) = 0 at masked positions
    total = p.sum(dim=-1, keepdim=True)
    return p / torch.where(total > 0, total, torch.ones_like(total))


class Attention(nn.Module):
    """What the three attention modules share: argument checks, the softmax and the average."""

    def prepare_keys(self, keys: Tensor) -> Tensor:
        """The part of the score that depends only on the keys, computed once per source."""
        return keys

    def score(self, query: Tensor, prepared: Tensor) -> Tensor:
        """Scores (B, U, S) of queries (B, U, d_q) against prepared keys (B, S, .)."""
        raise NotImplementedError

    def attend(self, query: Tensor, prepared: Tensor, values: Tensor,
               mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One or all decoder steps against keys already passed through :meth:`prepare_keys`."""
        one_step = query.dim() == 2
        q = query.unsqueeze(1) if one_step else query
        weights = masked_softmax(self.score(q, prepared), None if mask is None else mask[:, None, :])
        context = torch.bmm(weights, values)  # (B, U, d_v): the weighted average of the values
        return (context[:, 0], weights[:, 0]) if one_step else (context, weights)

    def forward(self, query: Tensor, keys: Tensor, values: Tensor | None = None,
                mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(context, weights)``: (B, d_v) and (B, S) for a query (B, d_q), or (B, U, d_v) and
        (B, U, S) for (B, U, d_q); ``keys`` (B, S, d_k), ``values`` (B, S, d_v) (default: the
        keys), ``mask`` (B, S) bool, True where a position may be attended to."""
        values = keys if values is None else values
        self._check(query, keys, values, mask)
        return self.attend(query, self.prepare_keys(keys), values, mask)

    def _check(self, query, keys, values, mask) -> None:
        check_tensor("query", query)
        check_tensor("keys", keys)
        check_tensor("values", values)
        if query.dim() not in (2, 3):
            raise ValueError(f"query must have shape (B, d_q) for one decoder step or (B, U, d_q) "
                             f"for U steps, got {tuple(query.shape)}")
        B = query.shape[0]
        if keys.dim() != 3 or keys.shape[0] != B:
            raise ValueError(f"keys must have shape (B, S, d_k) with B = {B} (query.shape[0]), got "
                             f"{tuple(keys.shape)}")
        if values.dim() != 3 or values.shape[:2] != keys.shape[:2]:
            raise ValueError(f"values must have shape (B, S, d_v) = ({B}, {keys.shape[1]}, d_v) "
                             f"(keys.shape[:2]), got {tuple(values.shape)}")
        self._check_sizes(query, keys)
        if mask is not None:
            check_tensor("mask", mask)
            if mask.dtype != torch.bool:
                raise TypeError(f"mask must be a bool tensor (True = a position that may be "
                                f"attended to, False = padding), got {mask.dtype}")
            if tuple(mask.shape) != tuple(keys.shape[:2]):
                raise ValueError(f"mask must have shape (B, S) = {tuple(keys.shape[:2])}, got "
                                 f"{tuple(mask.shape)}")
            if mask.device != keys.device:
                raise ValueError(f"mask is on {mask.device} but keys are on {keys.device}")

    def _check_sizes(self, query, keys) -> None:
        if query.shape[-1] != self.query_size:
            raise ValueError(f"query.size(-1) must be equal to query_size. Expected "
                             f"{self.query_size}, got {query.shape[-1]}")
        if keys.shape[-1] != self.key_size:
            raise ValueError(f"keys.size(-1) must be equal to key_size. Expected {self.key_size}, "
                             f"got {keys.shape[-1]}")


class DotAttention(Attention):
    r"""Dot-product score :math:`e_s = \lambda\, q^\top k_s` (Luong et al. 2015; with
    ``scaled=True``, :math:`\lambda = 1/\sqrt{d_k}`: the scaled dot product of Vaswani et al. 2017).

    No parameters; queries and keys must have one size. Equals
    ``torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=...)``.
    """

    def __init__(self, scaled: bool = False):
        super().__init__()
        check_bool("scaled", scaled)
        self.scaled = scaled

    def score(self, query, prepared):
        e = torch.bmm(query, prepared.transpose(1, 2))
        return e / math.sqrt(prepared.shape[-1]) if self.scaled else e

    def _check_sizes(self, query, keys) -> None:
        if query.shape[-1] != keys.shape[-1]:
            raise ValueError(f"the dot score needs queries and keys of one size: query.size(-1) = "
                             f"{query.shape[-1]}, keys.size(-1) = {keys.shape[-1]}")

    def extra_repr(self) -> str:
        return "scaled=True" if self.scaled else ""


class GeneralAttention(Attention):
    r"""Bilinear ("general") score :math:`e_s = q^\top W_a k_s` (Luong et al. 2015).

    Parameter ``weight`` :math:`W_a` of shape (query_size, key_size), initialised like
    ``torch.nn.Linear(key_size, query_size)``; the keys are projected once, :math:`W_a k_s`.
    """

    def __init__(self, query_size: int, key_size: int, device=None, dtype=None):
        super().__init__()
        check_size("query_size", query_size)
        check_size("key_size", key_size)
        self.query_size, self.key_size = query_size, key_size
        self.weight = nn.Parameter(torch.empty(query_size, key_size, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.key_size)
        nn.init.uniform_(self.weight, -bound, bound)

    def prepare_keys(self, keys):
        return F.linear(keys, self.weight)  # (B, S, d_q)

    def score(self, query, prepared):
        return torch.bmm(query, prepared.transpose(1, 2))

    def extra_repr(self) -> str:
        return f"query_size={self.query_size}, key_size={self.key_size}"


class AdditiveAttention(Attention):
    r"""Additive ("concat") score :math:`e_s = w_e^\top \tanh(W_q q + W_k k_s + b_e)`
    (Bahdanau et al. 2015), a one-hidden-layer network of the query and each key.

    Parameters ``weight_query`` :math:`W_q` (attention_size, query_size), ``weight_key``
    :math:`W_k` (attention_size, key_size), ``bias`` :math:`b_e` (attention_size,) if ``bias``,
    ``weight_score`` :math:`w_e` (attention_size,); all uniform in
    :math:`\pm 1/\sqrt{\text{fan-in}}` like ``torch.nn.Linear``.
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        check_size("query_size", query_size)
        check_size("key_size", key_size)
        check_size("attention_size", attention_size)
        check_bool("bias", bias)
        self.query_size, self.key_size, self.attention_size = query_size, key_size, attention_size
        factory = {"device": device, "dtype": dtype}
        self.weight_query = nn.Parameter(torch.empty(attention_size, query_size, **factory))
        self.weight_key = nn.Parameter(torch.empty(attention_size, key_size, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(attention_size, **factory))
        else:
            self.register_parameter("bias", None)
        self.weight_score = nn.Parameter(torch.empty(attention_size, **factory))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.uniform_(self.weight_query, -1 / math.sqrt(self.query_size), 1 / math.sqrt(self.query_size))
        nn.init.uniform_(self.weight_key, -1 / math.sqrt(self.key_size), 1 / math.sqrt(self.key_size))
        if self.bias is not None:
            nn.init.uniform_(self.bias, -1 / math.sqrt(self.key_size), 1 / math.sqrt(self.key_size))
        bound = 1 / math.sqrt(self.attention_size)
        nn.init.uniform_(self.weight_score, -bound, bound)

    def prepare_keys(self, keys):
        return F.linear(keys, self.weight_key, self.bias)  # (B, S, A): W_k k_s + b_e

    def score(self, query, prepared):
        z = torch.tanh(F.linear(query, self.weight_query)[:, :, None, :] + prepared[:, None, :, :])
        return z @ self.weight_score  # (B, U, S, A) -> (B, U, S)

    def extra_repr(self) -> str:
        return (f"query_size={self.query_size}, key_size={self.key_size}, "
                f"attention_size={self.attention_size}, bias={self.bias is not None}")


def make_attention(score: str, query_size: int, key_size: int, attention_size: int | None = None,
                   **kwargs) -> Attention:
    """The attention module for ``score`` (``"dot"``, ``"scaled_dot"``, ``"general"``,
    ``"additive"``); ``attention_size`` defaults to ``key_size``."""
    if score == "dot":
        return DotAttention()
    if score == "scaled_dot":
        return DotAttention(scaled=True)
    if score == "general":
        return GeneralAttention(query_size, key_size, **kwargs)
    if score == "additive":
        return AdditiveAttention(query_size, key_size, attention_size or key_size, **kwargs)
    raise ValueError(f"score must be one of 'dot', 'scaled_dot', 'general', 'additive', got {score!r}")


# ------------------------------------------------------------------------------ encoder–decoder
class EncoderDecoder(nn.Module):
    r"""Chapter 6's LSTM encoder–decoder, without attention (``attention=None``) or with it.

    Without attention the encoder's final state :math:`(h^e_S, c^e_S)`, read at each source's true
    end, is the decoder's initial state and the only path from source to target; the prediction is
    :math:`\operatorname{softmax}(V h^d_u + b_y)`. With attention (``"dot"``, ``"scaled_dot"``,
    ``"general"`` or ``"additive"``) the decoder also reads every encoder state at every step:

    .. math::
        \alpha_{us} = \operatorname{softmax}_{s:\,m_s=1}(e_{us}), \quad
        \bar v_u = \sum_s \alpha_{us} h^e_s, \quad
        \tilde h_u = \tanh(W_c [\bar v_u, h^d_u]), \quad
        p(y_u \mid y_{<u}, x) = \operatorname{softmax}(V \tilde h_u + b_y).

    Parameters: ``embed`` (shared by both sides), ``encoder`` and ``decoder`` (:class:`rnnlab.modules.LSTM`),
    ``head`` (:math:`V, c`); with attention also ``attention`` and ``combine`` (:math:`W_c`, no bias).

    Inputs are batch first: ``src`` (B, S) ids right-padded with ``padding_idx``, ``src_len`` (B,),
    ``tgt_in`` (B, U) the decoder's inputs (``<bos>`` then the target, teacher forcing).
    """

    def __init__(self, vocab_size: int, embedding_size: int = 32, hidden_size: int = 128,
                 attention: str | None = None, attention_size: int | None = None,
                 padding_idx: int = 0):
        super().__init__()
        check_size("vocab_size", vocab_size)
        check_size("embedding_size", embedding_size)
        check_size("hidden_size", hidden_size)
        self.embed = nn.Embedding(vocab_size, embedding_size, padding_idx=padding_idx)
        self.encoder = LSTM(embedding_size, hidden_size, batch_first=True)
        self.decoder = LSTM(embedding_size, hidden_size, batch_first=True)
        self.score_name = attention
        if attention is not None:
            self.attention = make_attention(attention, hidden_size, hidden_size, attention_size)
            self.combine = nn.Linear(2 * hidden_size, hidden_size, bias=False)
        self.head = nn.Linear(hidden_size, vocab_size)

    def encode(self, src: Tensor, src_len: Tensor):
        """Encoder states (B, S, H) (zero at padding), the mask (B, S) and the final (h, c), each (B, H)."""
        if src.dim() != 2:
            raise ValueError(f"src must have shape (B, S) of token ids, got {tuple(src.shape)}")
        if src_len.shape != (src.shape[0],):
            raise ValueError(f"src_len must have shape (B,) = ({src.shape[0]},), got {tuple(src_len.shape)}")
        packed = pack_padded_sequence(self.embed(src), src_len.cpu(), batch_first=True,
                                      enforce_sorted=False)
        out, (h, c) = self.encoder(packed)
        memory, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        mask = torch.arange(src.shape[1], device=src.device)[None, :] < src_len.to(src.device)[:, None]
        return memory, mask, (h[0], c[0])

    def _read(self, output: Tensor, prepared, memory, mask):
        """Logits from decoder states ``output`` (B, [U,] H), attending if the model has attention."""
        if self.score_name is None:
            return self.head(output), None
        context, weights = self.attention.attend(output, prepared, memory, mask)
        mixed = torch.tanh(self.combine(torch.cat([context, output], dim=-1)))
        return self.head(mixed), weights

    def forward(self, src: Tensor, src_len: Tensor, tgt_in: Tensor, return_weights: bool = False):
        """Teacher forcing: logits (B, U, vocab_size) [and the attention weights (B, U, S)]."""
        memory, mask, (h, c) = self.encode(src, src_len)
        output, _ = self.decoder(self.embed(tgt_in), (h[None], c[None]))
        prepared = None if self.score_name is None else self.attention.prepare_keys(memory)
        logits, weights = self._read(output, prepared, memory, mask)
        return (logits, weights) if return_weights else logits

    def start(self, src: Tensor, src_len: Tensor) -> tuple:
        """The decoding state after reading the source, batch first: ``(h, c)`` without attention,
        ``(h, c, prepared_keys, memory, mask)`` with it (every tensor has the batch on dim 0)."""
        memory, mask, (h, c) = self.encode(src, src_len)
        if self.score_name is None:
            return h, c
        return h, c, self.attention.prepare_keys(memory), memory, mask

    def step(self, tokens: Tensor, state: tuple) -> tuple[Tensor, tuple]:
        """One decoder step for :mod:`rnnlab.train.decode`: tokens (B,) -> logits (B, vocab_size)."""
        h, c, *rest = state
        output, (h, c) = self.decoder(self.embed(tokens)[:, None], (h[None], c[None]))
        logits, _ = self._read(output[:, 0], *(rest or (None, None, None)))
        return logits, (h[0], c[0], *rest)

    def step_weights(self, tokens: Tensor, state: tuple) -> tuple[Tensor, tuple, Tensor]:
        """:meth:`step` that also returns the attention weights (B, S) of this step."""
        if self.score_name is None:
            raise ValueError("this EncoderDecoder has no attention (attention=None)")
        h, c, prepared, memory, mask = state
        output, (h, c) = self.decoder(self.embed(tokens)[:, None], (h[None], c[None]))
        logits, weights = self._read(output[:, 0], prepared, memory, mask)
        return logits, (h[0], c[0], prepared, memory, mask), weights


__all__ = ["SCORES", "masked_softmax", "Attention", "DotAttention", "GeneralAttention",
           "AdditiveAttention", "make_attention", "EncoderDecoder"]
