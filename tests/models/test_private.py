"""toolkit.models.private: the private fit as a unit (settings, refusals, the adapter learnt
from the noisy release)."""

from __future__ import annotations

import pytest

from toolkit.adapters.dp_statistics import draft_schema
from toolkit.config import load_config
from toolkit.exceptions import UsageError
from toolkit.io.records import Records, read_records
from toolkit.models.private import PrivateFit, private_settings


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
