"""Self-consistency votes and tie-breaks on scripted samples (values worked out by hand)."""

from medtrust.reasoning.vote import majority_vote


def test_clear_majority():
    v = majority_vote(["B", "C", "B", "B", "A"], [-3.0, -1.0, -4.0, -5.0, -0.5])
    assert v["answer"] == "B" and v["votes"] == {"B": 3, "C": 1, "A": 1}
    assert v["agreement"] == 3 / 5 and v["tie"] is False and v["tie_break"] is None


def test_no_answer_samples_do_not_vote_but_count_in_agreement():
    v = majority_vote([None, "C", None, "C", "A"], [-1.0, -2.0, -1.0, -2.0, -1.0])
    assert v["answer"] == "C" and v["votes"] == {"C": 2, "A": 1} and v["agreement"] == 2 / 5


def test_tie_broken_by_total_log_probability():
    # A: -2.0 + -3.0 = -5.0 ; C: -1.0 + -1.5 = -2.5 -> C wins although A was sampled first
    v = majority_vote(["A", "C", "A", "C", None], [-2.0, -1.0, -3.0, -1.5, -0.1])
    assert v["answer"] == "C" and v["tie"] is True and v["tied"] == ["A", "C"]
    assert v["tie_break"] == "logprob" and v["tie_logprobs"] == {"A": -5.0, "C": -2.5}
    assert v["agreement"] == 2 / 5


def test_tie_break_sums_every_sample_of_an_answer():
    # three-way tie at 1 vote each; highest single total wins
    v = majority_vote(["A", "B", "C"], [-9.0, -0.5, -4.0])
    assert v["answer"] == "B" and v["tied"] == ["A", "B", "C"] and v["agreement"] == 1 / 3


def test_tie_without_log_probs_takes_the_first_sampled_and_says_so():
    v = majority_vote(["D", "A", "A", "D"], [None, None, None, None])
    assert v["answer"] == "D" and v["tie"] is True and v["tie_break"] == "first"
    v = majority_vote(["D", "A"], None)
    assert v["answer"] == "D" and v["tie_break"] == "first"


def test_exactly_equal_log_probs_keep_the_first_sampled():
    v = majority_vote(["B", "A"], [-1.0, -1.0])
    assert v["answer"] == "B" and v["tie_break"] == "logprob"


def test_all_samples_without_answer():
    v = majority_vote([None, None, None], [-1.0, -1.0, -1.0])
    assert v["answer"] is None and v["votes"] == {} and v["agreement"] == 0.0 and v["tie"] is False
