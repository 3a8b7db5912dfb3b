"""rnnlab.data.dates: date-format translation pairs, encoding, the separator layout."""
import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rnnlab.data import dates as D

DAY = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))


def test_examples_from_the_chapter():
    d = dt.date(2026, 11, 23)
    assert [D.format_date(d, k) for k in range(len(D.DATE_FORMATS))] == [
        "23 November 2026", "Nov 23, 2026", "23/11/2026", "Monday 23 Nov 2026",
        "November 23, 2026", "2026.11.23"]
    assert D.iso(d) == "2026-11-23"
    assert D.format_date(d, "dd/mm/yyyy") == "23/11/2026"


@settings(max_examples=200, deadline=None)
@given(DAY, st.integers(0, len(D.DATE_FORMATS) - 1))
def test_parse_inverts_format_and_detects_it(day, k):
    text = D.format_date(day, k)
    assert D.parse_date(text, k) == day
    found = D.detect_format(text)      # "May 5, 2000" is written alike in formats 1 and 4
    assert found == k or D.format_date(day, found) == text
    assert set(text) <= set(D.CHARS)
    v = D.DateVocab()
    assert v.decode(v.encode(text)) == text


def test_parse_rejects_invalid_dates():
    assert D.parse_date("Tuesday 23 Nov 2026", 3) is None       # 23 Nov 2026 is a Monday
    assert D.parse_date("Tuesday 23 Nov 2026", 3, check_weekday=False) == dt.date(2026, 11, 23)
    assert D.parse_date("Tuesday 31 Nov 2026", 3, check_weekday=False) is None
    assert D.parse_date("Tuesday  23 Nov 2026", 3, check_weekday=False) is None
    assert D.parse_date("31/04/2026", 2) is None                 # April has 30 days
    assert D.parse_date("05 November 2026", 0) is None           # the format writes "5"
    assert D.parse_date("29 February 2023", 0) is None
    assert D.parse_date("29 February 2024", 0) == dt.date(2024, 2, 29)
    assert D.detect_format("2026-11-23") is None
    with pytest.raises(ValueError, match="fmt"):
        D.format_date(dt.date(2026, 1, 1), 6)


def test_split_is_seeded_and_dates_are_disjoint():
    tr, te = D.make_date_split(3000, 500, seed=3)
    tr2, te2 = D.make_date_split(3000, 500, seed=3)
    assert tr.sources == tr2.sources and te.targets == te2.targets
    assert not set(tr.targets) & set(te.targets)
    assert len(set(tr.targets)) == 3000
    assert np.bincount(tr.formats, minlength=6).min() > 400      # every format is used
    for s, t, k in zip(te.sources, te.targets, te.formats):
        assert D.parse_date(s, int(k)).isoformat() == t
        assert D.FIRST_DATE.isoformat() <= t <= D.LAST_DATE.isoformat()
    with pytest.raises(ValueError, match="n_train"):
        D.make_date_split(40000, 1000)


def test_encoder_decoder_arrays():
    tr, _ = D.make_date_split(50, 5, seed=0)
    v = D.DateVocab()
    b = D.encode_pairs(tr, v)
    assert b.src.shape == (50, b.src_len.max()) and b.tgt_in.shape == b.tgt_out.shape == (50, 11)
    assert (b.tgt_in[:, 0] == D.BOS).all() and (b.tgt_out[:, -1] == D.EOS).all()
    np.testing.assert_array_equal(b.tgt_in[:, 1:], b.tgt_out[:, :-1])   # teacher forcing shift
    for i in range(50):
        assert v.decode(b.src[i]) == tr.sources[i]
        assert (b.src[i, b.src_len[i]:] == D.PAD).all()
        assert v.decode(b.tgt_out[i]) == tr.targets[i]


def test_separator_layout():
    tr, _ = D.make_date_split(20, 5, seed=1)
    v = D.DateVocab()
    s = D.encode_with_separator(tr, v)
    for i in range(20):
        p = s.sep_pos[i]
        assert s.inputs[i, p] == D.SEP and v.decode(s.inputs[i, :p]) == tr.sources[i]
        assert v.decode(s.targets[i][s.mask[i]]) == tr.targets[i]            # loss only on the output
        assert s.targets[i][s.mask[i]][-1] == D.EOS and s.mask[i].sum() == 11
        np.testing.assert_array_equal(s.inputs[i, 1:], s.targets[i, :-1])


def test_exact_match():
    assert D.exact_match(["a", "b"], ["a", "c"]) == 0.5
    with pytest.raises(ValueError):
        D.exact_match(["a"], [])
