"""The isolation forest kept as arrays: scikit-learn's scores, stored and refused when malformed."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from toolkit.models.isolation import IsolationForestScore, average_path_length, float32_below


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(1500, 6)).astype(np.float32)
    new = (3.0 * rng.normal(size=(400, 6))).astype(np.float32)
    return train, new


@pytest.mark.parametrize("n_trees", [1, 25])
def test_scores_equal_scikit_learns(rows, n_trees):
    train, new = rows
    ours = IsolationForestScore.fit(train, n_trees, random_state=3)
    theirs = IsolationForest(n_estimators=n_trees, random_state=3).fit(train)
    for x in (train, new):
        assert np.abs(ours.score(x) + theirs.score_samples(x)).max() < 1e-12


@pytest.mark.parametrize("n_rows", [1, 5])
def test_a_tiny_table_grows_shallow_trees(n_rows):
    x = np.arange(2 * n_rows, dtype=np.float32).reshape(n_rows, 2)
    forest = IsolationForestScore.fit(x, 10, random_state=0)
    assert forest.depth <= 3 and forest.sample_size.tolist() == [float(n_rows)]
    assert np.all((forest.score(x) > 0) & (forest.score(x) <= 1))


def test_rows_with_fewer_columns_than_the_forest_cuts_are_refused(rows):
    forest = IsolationForestScore.fit(rows[0], 10, random_state=0)
    with pytest.raises(ValueError, match="rows of 2 columns"):
        forest.score(rows[1][:, :2])


def test_tensors_round_trip(rows):
    train, new = rows
    forest = IsolationForestScore.fit(train, 10, random_state=0)
    tensors = forest.to_tensors("p.")
    assert sorted(tensors) == sorted(f"p.{name}" for name in
                                     ("feature", "threshold", "path_length", "sample_size"))
    again = IsolationForestScore.from_tensors(tensors, "p.")
    assert np.array_equal(again.score(new), forest.score(new))


@pytest.mark.parametrize("edit", [
    lambda t: t.update({"p.threshold": t["p.threshold"][:, :-1]}),
    lambda t: t.update({"p.path_length": t["p.path_length"][:, :-1]}),
    lambda t: t.update({"p.feature": t["p.feature"][:1]}),
    lambda t: t["p.feature"].fill_(-1),
    lambda t: t.update({"p.sample_size": t["p.sample_size"].repeat(2)}),
], ids=["threshold-short", "leaves-not-a-power-of-two", "trees-disagree", "negative-column",
        "two-sample-sizes"])
def test_a_malformed_forest_is_refused(rows, edit):
    tensors = IsolationForestScore.fit(rows[0], 3, random_state=0).to_tensors("p.")
    edit(tensors)
    with pytest.raises(ValueError, match="malformed"):
        IsolationForestScore.from_tensors(tensors, "p.")


def test_float32_cuts_compare_as_the_float64_ones():
    cuts = np.array([0.1, 1.0, -2.7, 1e-30])
    below = float32_below(cuts)
    assert below.dtype == np.float32 and np.all(below.astype(float) <= cuts)
    above = np.nextafter(below, np.float32(np.inf))
    assert np.all(above.astype(float) > cuts)  # no float32 lies between the two


def test_average_path_length_matches_the_paper():
    n = np.array([3.0, 10.0])
    harmonic = np.log(n - 1) + np.euler_gamma
    assert average_path_length(n) == pytest.approx(2 * harmonic - 2 * (n - 1) / n)
