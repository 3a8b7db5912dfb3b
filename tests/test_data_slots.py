"""rnnlab.data.slots: generated travel requests with BIO slot tags, scores, the baseline."""
import numpy as np
import pytest

from rnnlab.data import slots as S


def test_chapter1_examples_are_generated_with_opposite_tags():
    train, _ = S.make_slot_split(3000, 100)
    texts = {s.text: s for s in train}
    assert S.CHAPTER1_EXAMPLES == ("arrive in beijing", "leave beijing")
    assert "arrive in beijing" in texts and "leave beijing" in texts
    assert texts["arrive in beijing"].tags[-1] == "B-to_city"
    assert texts["leave beijing"].tags[-1] == "B-from_city"


def test_tags_are_valid_bio_and_aligned():
    for s in S.generate_sentences(500, seed=4):
        assert len(s.words) == len(s.tags)
        for i, t in enumerate(s.tags):
            assert t in S.TAGS
            if t.startswith("I-"):
                assert s.tags[i - 1][2:] == t[2:]     # I-x only continues an x
        cities = [c for c in S.CITIES if f" {c} " in f" {s.text} "]
        assert len(cities) >= 1


def test_needs_future_means_the_left_context_is_ambiguous():
    """For every sentence flagged needs_future, the same words up to and including some city occur
    with the other city tag too: only later words can decide."""
    sents = S.generate_sentences(4000, seed=0)
    seen = {}
    for s in sents:
        for i, t in enumerate(s.tags):
            if t.startswith("B-") and t.endswith("city"):
                seen.setdefault(s.words[: i + 1], set()).add(t)
    ambiguous = [any(len(seen.get(s.words[: i + 1], ())) == 2 for i, t in enumerate(s.tags)
                     if t.startswith("B-") and t.endswith("city"))
                 for s in sents if s.needs_future]
    assert np.mean(ambiguous) > 0.3
    for s in sents:
        if not s.needs_future:     # the left context decides: prefix always carries one tag
            for i, t in enumerate(s.tags):
                if t.startswith("B-") and t.endswith("city"):
                    assert len(seen[s.words[: i + 1]]) == 1, s.text


def test_split_disjoint_and_seeded():
    a, b = S.make_slot_split(500, 200, seed=2)
    a2, b2 = S.make_slot_split(500, 200, seed=2)
    assert [s.words for s in b] == [s.words for s in b2]
    assert not {s.words for s in a} & {s.words for s in b}
    assert len(b) == 200


def test_encode_tagged_pads_and_masks():
    train, test = S.make_slot_split(200, 50)
    v = S.WordVocab.from_sentences(train)
    batch = S.encode_tagged(test, v)
    assert batch.words.shape == batch.tags.shape == batch.mask.shape
    np.testing.assert_array_equal(batch.mask.sum(1), batch.lengths)
    assert (batch.words[~batch.mask] == S.WordVocab.PAD).all()
    assert v.encode(["zzz-unknown"]) == [S.WordVocab.UNK]
    for i, s in enumerate(test):
        assert [S.TAGS[t] for t in batch.tags[i, : batch.lengths[i]]] == list(s.tags)


def test_bio_spans_follow_conll():
    tags = ["B-to_city", "I-to_city", "O", "I-date", "I-date", "B-time", "B-time", "I-from_city"]
    assert S.bio_spans(tags) == {("to_city", 0, 2), ("date", 3, 5), ("time", 5, 6),
                                 ("time", 6, 7), ("from_city", 7, 8)}
    assert S.bio_spans(["O", "O"]) == set()
    with pytest.raises(ValueError, match="tag"):
        S.bio_spans(["X-foo"])


def test_slot_scores_by_hand():
    true = [["B-to_city", "I-to_city", "O"], ["B-date", "O"]]
    pred = [["B-from_city", "I-from_city", "O"], ["B-date", "O"]]
    r = S.slot_scores(true, pred)
    assert r.token_accuracy == pytest.approx(3 / 5)
    assert r.precision == r.recall == r.f1 == pytest.approx(0.5)
    with pytest.raises(ValueError):
        S.slot_scores(true, pred[:1])


def test_slot_scores_by_type_by_hand():
    true = [["B-to_city", "I-to_city", "O", "B-date"], ["B-date", "I-date", "B-time"]]
    pred = [["B-from_city", "I-from_city", "O", "B-date"], ["B-date", "O", "B-time"]]
    r = S.slot_scores_by_type(true, pred)
    assert list(r) == list(S.SLOT_TYPES)
    assert r["to_city"].recall == 0 and r["from_city"].precision == 0   # the wrong role
    assert r["date"].precision == r["date"].recall == pytest.approx(1 / 2)   # one span cut short
    assert r["time"].f1 == 1.0
    # the types' true positives add up to the overall ones
    overall = S.slot_scores(true, pred)
    assert overall.precision == pytest.approx(2 / 4) and overall.recall == pytest.approx(2 / 4)


def test_majority_baseline_is_mediocre_on_cities():
    train, test = S.make_slot_split(3000, 1000)
    tagger = S.majority_tagger(train)
    r = S.slot_scores([s.tags for s in test], [tagger(s.words) for s in test])
    assert 0.75 < r.token_accuracy < 0.95 and 0.3 < r.f1 < 0.8
    assert tagger(["never-seen"]) == ["O"]
