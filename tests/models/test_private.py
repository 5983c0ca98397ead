"""toolkit.models.private: the private fit as a unit (settings, refusals, the adapter learnt
from the noisy release) and the private fit of patient histories (the patient is the unit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import patient_visits

from toolkit import Synthesizer
from toolkit.adapters.dp_statistics import draft_schema
from toolkit.adapters.histories import HistoryLayout
from toolkit.backends.sequence import MAX_STEPS
from toolkit.config import load_config
from toolkit.evaluate.report import guarantee_text
from toolkit.exceptions import PrivacyWarning, UsageError
from toolkit.io.records import Records, read_records
from toolkit.models.private import (
    PRIVATE_MAX_ROWS,
    PrivateFit,
    PrivateHistories,
    private_settings,
)


def test_private_settings_read_no_row_outside_dp_sgd():
    config = private_settings(load_config("default"))
    assert config.prior == "standard" and config.early_stopping_patience is None
    assert config.pac == 1 and config.discriminator_steps == 1


@pytest.mark.slow
def test_the_adapter_is_learnt_from_the_release_with_the_files_dialect(tmp_path, patients):
    path = tmp_path / "patients.csv"
    path.write_text(patients.to_csv(index=False, sep=";"))
    records = read_records(path)
    metadata = {"columns": draft_schema(records.data)}
    config = private_settings(load_config("fast"))
    adapter, plan, encoded = PrivateFit(5.0, None, 1.0, metadata).prepare(records, config, 0)
    assert adapter.csv_dialect_["delimiter"] == ";"
    assert encoded.shape[1] == adapter.spec.width
    assert plan.target_epsilon == 5.0 and plan.epsilon <= 5.0
    assert set(adapter.kinds_) == set(map(str, patients.columns))


def test_what_cannot_be_private_is_refused(patients, digits):
    metadata = {"columns": draft_schema(patients)}
    fit = PrivateFit(1.0, None, 1.0, metadata)
    with pytest.raises(UsageError, match="applies to tables"):
        fit.prepare(Records(digits), private_settings(load_config("fast")), 0)
    with pytest.raises(UsageError, match="vaegan backend cannot train with differential"):
        fit.prepare(Records(patients), private_settings(load_config("vaegan")), 0)
    with pytest.raises(UsageError, match="metadata"):
        PrivateFit(1.0, None, 1.0, None).prepare(Records(patients),
                                                 private_settings(load_config("fast")), 0)


# longitudinal tables: the patient is the unit ----------------------------------------------
def _private_visits(patients: int = 60) -> tuple:
    visits = patient_visits(patients)
    metadata = {"subject": "patient_id", "order": "visit",
                "columns": draft_schema(visits, numeric=("visit",))}
    return visits, metadata


def test_a_private_longitudinal_fit_generates_whole_histories_with_epsilon_per_patient():
    visits, metadata = _private_visits()
    model = Synthesizer(config="fast", epochs=2, epsilon=3.0, metadata=metadata,
                        random_state=0).fit(visits)
    privacy = model.privacy_
    assert privacy["unit"] == "patient" and set(privacy["parts"]) == {"patients", "histories"}
    assert privacy["epsilon"] <= privacy["target_epsilon"] == 3.0
    # the composition of both parts costs less than spending each share one after the other
    assert privacy["epsilon"] < sum(p["epsilon"] for p in privacy["parts"].values())
    assert "per patient" in guarantee_text(privacy)
    assert f"at most {PRIVATE_MAX_ROWS} rows of each patient" in guarantee_text(privacy)
    sample = model.sample(40, random_state=1)
    assert sample["patient_id"].nunique() == 40  # n patients, each a history of rows
    assert not set(sample["patient_id"]) & set(visits["patient_id"])
    histories = sample.groupby("patient_id", sort=False)
    assert (histories[["sex", "birth_year"]].nunique() == 1).all().all()
    assert (histories["visit"].diff().dropna() >= 1).all()  # the release shows no repeated visit
    assert histories.size().max() <= PRIVATE_MAX_ROWS


def test_a_private_longitudinal_fit_is_reproducible_and_kept_by_its_model_file(tmp_path):
    visits, metadata = _private_visits()
    fits = [Synthesizer(config="fast", epochs=1, epsilon=3.0, metadata=metadata,
                        random_state=4).fit(visits) for _ in range(2)]
    pd.testing.assert_frame_equal(fits[0].sample(10, random_state=0),
                                  fits[1].sample(10, random_state=0))
    fits[0].save(tmp_path / "private.tkm")
    loaded = Synthesizer.load(tmp_path / "private.tkm")
    assert loaded.privacy_ == fits[0].privacy_
    pd.testing.assert_frame_equal(  # IDs go on from those issued: fresh in every sample
        loaded.sample(10, random_state=0).drop(columns="patient_id"),
        fits[0].sample(10, random_state=0).drop(columns="patient_id"))


def test_a_patient_contributes_at_most_the_first_rows_of_the_history():
    visits, metadata = _private_visits(30)
    long = pd.DataFrame({"patient_id": 1, "visit": np.arange(1, 41), "sex": "f",
                         "birth_year": 1950, "sbp": 130.0, "hba1c": 6.0})
    metadata["columns"]["visit"]["max"] = 40
    privacy = PrivateHistories(3.0, None, 1.0, metadata, patients=31)
    layout = HistoryLayout.of(pd.concat([visits, long]), "patient_id", "visit")
    with pytest.warns(PrivacyWarning, match=f"at most {PRIVATE_MAX_ROWS} rows .* 8 later rows"):
        bounded = privacy.bound(pd.concat([long.iloc[::-1], visits]), layout)
    kept = bounded[bounded["patient_id"] == 1]["visit"]
    assert kept.tolist() == list(range(1, PRIVATE_MAX_ROWS + 1))
    assert len(bounded) == len(visits) + PRIVATE_MAX_ROWS


def test_a_private_history_is_one_dp_sgd_unit():
    # each patient's whole history is one training window: one clipped gradient per patient
    assert PRIVATE_MAX_ROWS <= MAX_STEPS


def test_a_private_longitudinal_fit_refuses_what_the_metadata_does_not_bound():
    visits, metadata = _private_visits()
    del metadata["columns"]["sbp"]
    with pytest.raises(UsageError, match=r"not described: \['sbp'\]"):
        Synthesizer(config="fast", epochs=1, epsilon=3.0, metadata=metadata).fit(visits)
    visits, metadata = _private_visits()
    metadata["columns"]["visit"] = {"kind": "categorical", "values": [1, 2, 3]}
    with pytest.raises(UsageError, match="order column 'visit' needs kind integer or continuous"):
        Synthesizer(config="fast", epochs=1, epsilon=3.0, metadata=metadata).fit(visits)
    visits["seen"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(visits["visit"] * 30, unit="D")
    metadata.update(order="seen")
    metadata["columns"]["seen"] = {"kind": "datetime"}
    with pytest.raises(UsageError, match="datetime column 'seen' is not supported"):
        Synthesizer(config="fast", epochs=1, epsilon=3.0, metadata=metadata).fit(visits)
