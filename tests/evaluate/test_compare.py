"""toolkit.evaluate.compare: every backend trained and measured on one split, and how settled
each loss curve is.
"""

from __future__ import annotations

import pytest


# compare ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_compare_trains_every_backend_on_the_same_split(_patients_frame):
    from toolkit.evaluate.compare import compare, table_rows

    result = compare(_patients_frame, ["vae", "gan"], target="status", epochs=2)
    assert set(result["backends"]) == {"vae", "gan"}
    assert result["rows"] == {"train": 334, "holdout": 84}
    for row in table_rows(result):
        assert 0.0 <= row["quality"] <= 1.0 and row["fit_seconds"] > 0
        assert row["sample_rows_per_s"] > 0 and row["loss_tail_cv"] >= 0
        assert row["utility_ratio"] is not None


def test_loss_stability_is_small_for_a_settled_curve():
    from toolkit.evaluate.compare import loss_stability

    settled = loss_stability({"loss": [10.0, 5.0, 2.0] + [1.0] * 20}, "loss")
    noisy = loss_stability({"loss": [10.0, 5.0, 2.0] + [1.0, 3.0] * 10}, "loss")
    assert settled["tail_cv"] == 0.0 and noisy["tail_cv"] > 0.3
