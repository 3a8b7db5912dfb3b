"""Every graded function is numpy code: an answer that lets torch compute what the exercise asks
for (torch.nn's layers and losses, autograd, torch's scans) earns no points, while its values are
right. Chapters 1-4 test the rule in their own files; the test files of chapters 5-7 build their
independent solutions on torch (they let it through there) and the rule is tested here."""
import numpy as np
import pytest

from rnnlab.grading import check

from _check_helpers import assert_values_pass

torch = pytest.importorskip("torch")
F = torch.nn.functional


def rnn_forward_by_torch(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths):
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    rnn = torch.nn.RNN(x.shape[2], weight_hh.shape[0]).double()
    rnn.load_state_dict({"weight_ih_l0": torch.from_numpy(weight_ih),
                         "weight_hh_l0": torch.from_numpy(weight_hh),
                         "bias_ih_l0": torch.from_numpy(bias_ih), "bias_hh_l0": torch.from_numpy(bias_hh)})
    with torch.no_grad():
        packed = pack_padded_sequence(torch.from_numpy(x), torch.from_numpy(lengths),
                                      enforce_sorted=False)
        out, h_n = rnn(packed)
        out, _ = pad_packed_sequence(out, total_length=x.shape[0])
    return out.numpy(), h_n[0].numpy()


def masked_cross_entropy_by_torch(logits, targets, mask):
    mask_t = torch.from_numpy(mask)
    return float(F.cross_entropy(torch.from_numpy(logits)[mask_t], torch.from_numpy(targets)[mask_t]))


def masked_attention_by_torch(query, keys, values, mask):
    q, k, v, m = (torch.from_numpy(a) for a in (query, keys, values, mask))
    scores = torch.einsum("nd,nsd->ns", q, k) / k.shape[-1] ** 0.5
    weights = torch.softmax(scores.masked_fill(~m, float("-inf")), dim=-1).nan_to_num(0.0)
    return torch.einsum("ns,nsv->nv", weights, v).numpy(), weights.numpy()


def log_space_scan_by_torch(a, b, h0):
    a_star = torch.cumsum(torch.log(torch.from_numpy(a)), 0)
    a_star = torch.cat([torch.zeros_like(a_star[:1]), a_star])
    terms = torch.log(torch.cat([torch.from_numpy(h0)[None], torch.from_numpy(b)]).to(torch.complex128))
    return torch.exp(a_star + torch.logcumsumexp(terms - a_star, 0))[1:].real.numpy()


@pytest.mark.parametrize("exercise_id, answer", [
    ("05.rnn_forward", rnn_forward_by_torch),
    ("06.masked_cross_entropy", masked_cross_entropy_by_torch),
    ("06.masked_attention", masked_attention_by_torch),
    ("07.log_space_scan", log_space_scan_by_torch),
])
def test_an_answer_computed_by_torch_earns_nothing(exercise_id, answer):
    refused = assert_values_pass(exercise_id, answer, seed=0)  # its values are right
    assert "` called `torch." in refused.message and "part of torch" in refused.message, \
        refused.message
    assert refused.score == 0 and check(exercise_id, answer, seed=1).score == 0


def test_builtins_are_named_as_the_student_wrote_them():
    """torch's builtins start no Python frame; the profile function names a module's function by
    its module (torch.log) and a tensor's method by its class."""
    from rnnlab.grading.outcome import CallTrace

    t = torch.ones(3)
    with CallTrace(("torch",)) as by_function:
        torch.log(t)
    with CallTrace(("torch",)) as by_method:
        t.exp()
    with CallTrace(("torch",)) as numpy_only:
        np.log(np.ones(3))
    assert by_function.called == "torch.log"
    assert by_method.called is not None and by_method.called.startswith("torch.") \
        and by_method.called.endswith(".exp")
    assert numpy_only.called is None
