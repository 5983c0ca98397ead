"""Numeric column scalers (toolkit.adapters.scalers): quantile, mode-specific and z-score."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import ndtri

from toolkit.adapters.scalers import (
    MAX_QUANTILES,
    SCALERS,
    ModeScaler,
    QuantileScaler,
    StandardScaler,
    scaler_from_dict,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def labs(n: int = 300, seed: int = 0) -> np.ndarray:
    """A right-skewed lab value (bilirubin-like), all distinct."""
    return np.round(rng(seed).lognormal(0.0, 1.0, n), 4) + np.arange(n) * 1e-7


def reloaded(scaler):
    return scaler_from_dict(json.loads(json.dumps(scaler.to_dict())))


# quantile ---------------------------------------------------------------------------------
def test_quantile_scores_are_standard_normal_and_keep_the_order():
    values = labs()
    scores = QuantileScaler().fit(values, rng()).transform(values, rng())
    assert scores.shape == (300, 1)
    assert abs(float(np.median(scores))) < 0.05 and 0.9 < float(scores.std()) < 1.3
    order = np.argsort(values)
    assert np.all(np.diff(scores[order, 0]) > 0)


def test_quantile_round_trip_gives_the_training_values_back():
    values = labs()
    scaler = QuantileScaler().fit(values, rng())
    back = scaler.inverse(scaler.transform(values, rng()))
    assert np.allclose(back, values, rtol=1e-9, atol=1e-9)
    assert back.min() == values.min() and back.max() == values.max()  # extremes exactly


def test_quantile_inverse_never_leaves_the_observed_range():
    values = labs()
    scaler = QuantileScaler().fit(values, rng())
    wild = scaler.inverse(np.array([[-40.0], [-6.0], [0.0], [6.0], [40.0]]))
    assert wild[0] == wild[1] == values.min() and wild[-1] == wild[-2] == values.max()
    assert values.min() < wild[2] < values.max()


def test_quantile_scaler_interpolates_between_training_values():
    scaler = QuantileScaler().fit(np.array([0.0, 10.0, 20.0]), rng())
    middle = scaler.transform(np.array([5.0, 10.0, 15.0]), rng())[:, 0]
    assert middle[1] == pytest.approx(0.0)
    assert middle[0] == pytest.approx(-middle[2]) and middle[0] == pytest.approx(ndtri(0.25))
    assert scaler.inverse(middle[:, None]) == pytest.approx([5.0, 10.0, 15.0])


def test_tied_values_map_to_the_middle_of_their_mass():
    values = np.r_[np.zeros(50), np.linspace(1.0, 2.0, 50)]  # a point mass at 0: half the rows
    scores = QuantileScaler().fit(values, rng()).transform(np.zeros(3), rng())[:, 0]
    assert np.all(scores == scores[0])
    # about ndtri(0.25); the forward (0.5) or backward (0) interpolation alone is far off
    assert scores[0] == pytest.approx(ndtri(0.25), abs=0.05)


def test_constant_column_scores_zero_and_decodes_to_its_value():
    scaler = QuantileScaler().fit(np.full(20, 4.5), rng())
    assert np.all(scaler.transform(np.full(3, 4.5), rng()) == 0.0)
    assert np.all(scaler.inverse(np.array([[-3.0], [0.0], [3.0]])) == 4.5)


def test_many_distinct_values_keep_at_most_max_quantiles_knots():
    values = rng().normal(size=MAX_QUANTILES**2 // 2)
    scaler = QuantileScaler().fit(values, rng())
    assert len(scaler.knots_) == MAX_QUANTILES
    back = scaler.inverse(scaler.transform(values[:5000], rng()))
    assert np.abs(back - values[:5000]).max() < 0.05 and scaler.knots_.max() == values.max()


@pytest.mark.parametrize("rows, knots", [(50, 20), (235, 31), (10_000, 200)])
def test_knots_grow_with_the_square_root_of_the_rows(rows, knots):
    # one knot per training value would put synthetic values next to the training values
    values = rng().normal(size=rows)
    scaler = QuantileScaler().fit(values, rng())
    assert len(scaler.knots_) == knots
    assert scaler.knots_.min() == values.min() and scaler.knots_.max() == values.max()
    back = scaler.inverse(scaler.transform(values, rng()))
    np.testing.assert_allclose(back, values, atol=1e-9)  # still a bijection


def test_discrete_scaler_decodes_only_seen_values_at_their_frequencies():
    values = rng().choice([1.0, 2.0, 3.0, 7.0], size=400, p=[0.1, 0.2, 0.3, 0.4])
    scaler = QuantileScaler(discrete=True).fit(values, rng())
    decoded = scaler.inverse(rng(1).normal(size=(4000, 1)))
    assert set(np.unique(decoded)) == {1.0, 2.0, 3.0, 7.0}
    shares = np.array([np.mean(values == v) for v in (1.0, 2.0, 3.0, 7.0)])
    decoded_shares = np.array([np.mean(decoded == v) for v in (1.0, 2.0, 3.0, 7.0)])
    assert np.allclose(decoded_shares, shares, atol=0.03)
    assert np.array_equal(scaler.inverse(scaler.transform(values, rng())), values)


def test_discrete_scaler_scores_a_value_at_the_middle_of_its_probability():
    scaler = QuantileScaler(discrete=True).fit(np.array([1.0, 1.0, 2.0, 5.0]), rng())
    scores = scaler.transform(np.array([1.0, 2.0, 5.0]), rng())[:, 0]
    assert scores == pytest.approx(ndtri(np.array([0.25, 0.625, 0.875])))


def test_discrete_scaler_with_too_many_values_interpolates_instead():
    values = np.arange(MAX_QUANTILES + 5, dtype=float)
    scaler = QuantileScaler(discrete=True).fit(values, rng())
    assert scaler.discrete is False and not hasattr(scaler, "cdf_right_")


@pytest.mark.parametrize("discrete", [False, True])
def test_quantile_state_survives_json(discrete):
    values = rng().integers(0, 30, 200).astype(float)
    scaler = QuantileScaler(discrete=discrete).fit(values, rng())
    again = reloaded(scaler)
    assert isinstance(again, QuantileScaler) and again.discrete is discrete
    codes = rng(2).normal(size=(50, 1))
    assert np.array_equal(again.inverse(codes), scaler.inverse(codes))
    assert np.array_equal(again.transform(values, rng()), scaler.transform(values, rng()))


# mode-specific ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_modes() -> tuple[np.ndarray, ModeScaler]:
    g = rng()
    values = np.r_[g.normal(-10.0, 1.0, 150), g.normal(10.0, 1.0, 150)]
    return values, ModeScaler().fit(values, rng())


def test_mode_scaler_finds_the_modes(two_modes):
    _, scaler = two_modes
    assert scaler.n_modes == 2
    assert np.allclose(np.sort(scaler.means_), [-10.0, 10.0], atol=0.3)
    assert np.all((scaler.stds_ > 0.8) & (scaler.stds_ < 2.0))  # the prior widens them a bit
    assert scaler.weights_.sum() == pytest.approx(1.0)


def test_mode_encoding_is_a_bounded_scalar_and_a_one_hot(two_modes):
    values, scaler = two_modes
    encoded = scaler.transform(values, rng(1))
    assert encoded.shape == (300, 3)
    assert np.all(np.abs(encoded[:, 0]) <= 0.99)
    assert np.array_equal(encoded[:, 1:].sum(axis=1), np.ones(300))
    low = np.argmin(scaler.means_)
    assert np.all(encoded[:150, 1 + low] == 1.0)  # each value is encoded in its own mode


def test_mode_round_trip_and_seeded_mode_draws(two_modes):
    values, scaler = two_modes
    encoded = scaler.transform(values, rng(1))
    assert np.allclose(scaler.inverse(encoded), values, atol=1e-9)
    assert np.array_equal(scaler.transform(values, rng(1)), encoded)


def test_mode_inverse_takes_the_arg_max_mode_and_clips_the_scalar(two_modes):
    _, scaler = two_modes
    high = int(np.argmax(scaler.means_))
    scores = np.zeros((2, 3))
    scores[:, 1 + high] = [0.9, 0.6]  # mode scores, not one-hots: the largest wins
    scores[:, 0] = [0.0, 5.0]
    back = scaler.inverse(scores)
    assert back[0] == pytest.approx(scaler.means_[high])
    assert back[1] == pytest.approx(scaler.means_[high] + 4.0 * scaler.stds_[high])


def test_mode_fit_is_seeded_and_subsamples_large_columns():
    values = rng().normal(size=400)
    a = ModeScaler(max_fit_rows=100).fit(values, rng(3))
    b = ModeScaler(max_fit_rows=100).fit(values, rng(3))
    assert np.array_equal(a.means_, b.means_) and np.array_equal(a.weights_, b.weights_)


def test_mode_scaler_on_a_constant_column_keeps_one_mode():
    scaler = ModeScaler().fit(np.full(30, 2.0), rng())
    assert scaler.n_modes == 1
    encoded = scaler.transform(np.full(4, 2.0), rng())
    assert np.allclose(scaler.inverse(encoded), 2.0)


def test_mode_state_survives_json(two_modes):
    values, scaler = two_modes
    again = reloaded(scaler)
    assert isinstance(again, ModeScaler) and again.n_modes == scaler.n_modes
    assert np.array_equal(again.transform(values, rng(4)), scaler.transform(values, rng(4)))


# z-score ----------------------------------------------------------------------------------
def test_standard_scores_have_mean_zero_and_unit_spread():
    values = labs()
    scaler = StandardScaler().fit(values, rng())
    scores = scaler.transform(values, rng())
    assert scores.shape == (300, 1)
    assert float(scores.mean()) == pytest.approx(0.0, abs=1e-12)
    assert float(scores.std()) == pytest.approx(1.0)
    assert np.allclose(scaler.inverse(scores), values)


def test_standard_scores_keep_distances_in_the_tails():
    values = np.r_[rng().normal(0.0, 1.0, 200), [50.0]]
    standard = StandardScaler().fit(values, rng()).transform(np.array([50.0, 100.0]), rng())
    quantile = QuantileScaler().fit(values, rng()).transform(np.array([50.0, 100.0]), rng())
    assert standard[1, 0] > 1.9 * standard[0, 0]  # twice as far stays about twice as far
    assert quantile[1, 0] == quantile[0, 0]  # the quantile map squeezes the tail


def test_standard_scaler_on_a_constant_column_uses_unit_spread():
    scaler = StandardScaler().fit(np.full(5, 3.0), rng())
    assert (scaler.mean_, scaler.std_) == (3.0, 1.0)
    assert scaler.transform(np.array([3.0, 5.0]), rng())[:, 0].tolist() == [0.0, 2.0]


def test_standard_state_survives_json():
    scaler = StandardScaler().fit(labs(), rng())
    again = reloaded(scaler)
    assert isinstance(again, StandardScaler)
    assert (again.mean_, again.std_) == (scaler.mean_, scaler.std_)


# the registry -----------------------------------------------------------------------------
def test_every_registered_scaler_writes_its_own_type():
    values = labs(60)
    for name, cls in SCALERS.items():
        state = cls().fit(values, rng()).to_dict()
        assert state["type"] == name
        assert type(scaler_from_dict(state)) is cls


def test_scaler_outputs_are_one_column_of_numbers_for_the_scalar_kinds():
    values = labs(40)
    for cls in (QuantileScaler, StandardScaler):
        scaler = cls().fit(values, rng())
        assert scaler.n_modes == 0
        out = scaler.transform(values, rng())
        assert out.shape == (40, 1) and np.isfinite(out).all()


def test_subnormal_values_do_not_turn_a_neighbour_into_nan():
    # found by hypothesis: quantiles 2e-313 apart made the interpolation's slope infinite
    values = np.array([0.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 2.2250738585e-313, -1.0, -2.0, -3.0,
                       -2.2250738585e-313])
    rng = np.random.default_rng(0)
    scaler = QuantileScaler().fit(values, rng)
    scores = scaler.transform(values, rng)
    assert np.isfinite(scores).all()
    np.testing.assert_allclose(scaler.inverse(scores), values, atol=1e-9)
