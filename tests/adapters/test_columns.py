"""Date-times come back as they came: time of day, ``T`` or space, fractions of seconds and
UTC offsets (``Z``, ``+02:00``, ``+0200``), through the adapter, the model and the files.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from helpers import instants

from toolkit import Synthesizer
from toolkit.adapters import TabularAdapter
from toolkit.adapters.columns import DatetimeEncoder
from toolkit.evaluate.report import RowEncoder
from toolkit.exceptions import DataError, InferenceWarning
from toolkit.io import read_table, write_table

ROWS = 120


DATE = r"\d{4}-\d{2}-\d{2}"


#: column: (how a local time is written, the offset it is written with, the text's pattern)
STYLES = {
    "colon": (lambda t: t.strftime("%Y-%m-%dT%H:%M:%S+02:00"), 120,
              DATE + r"T\d{2}:\d{2}:\d{2}\+02:00"),
    "no_colon": (lambda t: t.strftime("%Y-%m-%dT%H:%M:%S+0200"), 120,
                 DATE + r"T\d{2}:\d{2}:\d{2}\+0200"),
    "zulu": (lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"), 0, DATE + r"T\d{2}:\d{2}:\d{2}Z"),
    "zeros": (lambda t: t.strftime("%Y-%m-%d %H:%M:00.000000"), 0,
              DATE + r" \d{2}:\d{2}:00\.000000"),
    "millis": (lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+01:00", 60,
               DATE + r"T\d{2}:\d{2}:\d{2}\.\d{3}\+01:00"),
    "minutes": (lambda t: t.strftime("%Y-%m-%d %H:%M"), 0, DATE + r" \d{2}:\d{2}"),
    "days": (lambda t: t.strftime("%Y-%m-%d"), 0, DATE),
}


def local_visits(n: int = ROWS, seed: int = 0) -> pd.Series:
    """Clinic visits: a day of 2021 and a local time between 08:00 and 18:00, to the ms."""
    rng = np.random.default_rng(seed)
    return pd.Series(pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D")
                     + pd.to_timedelta(rng.integers(8 * 3600 * 1000, 18 * 3600 * 1000, n), "ms"))


def clinic_table(n: int = ROWS) -> pd.DataFrame:
    """One column per style of :data:`STYLES`, plus one whose offset follows summer time."""
    visits = local_visits(n)
    table = pd.DataFrame({name: [write(t) for t in visits]
                          for name, (write, _, _) in STYLES.items()})
    summer = visits.dt.month.between(4, 10)
    table["summer_time"] = (visits.dt.strftime("%Y-%m-%dT%H:%M:%S")
                            + np.where(summer, "+02:00", "+01:00"))
    table["dose"] = np.round(np.random.default_rng(1).normal(5.0, 1.0, n), 2)
    return table




def fit_adapter(table: pd.DataFrame) -> tuple[TabularAdapter, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        adapter = TabularAdapter(random_state=0).fit(table)
    return adapter, [str(w.message) for w in caught if w.category is InferenceWarning]


@pytest.fixture(scope="module")
def clinic_csv(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("dates") / "visits.csv"
    clinic_table().to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="module")
def synthesizer(clinic_csv) -> Synthesizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        return Synthesizer(config="fast", epochs=2, random_state=0).fit(read_table(clinic_csv))


# the adapter ------------------------------------------------------------------------------
def test_training_texts_come_back_as_they_came():
    table = clinic_table()
    adapter, _ = fit_adapter(table)
    back = adapter.inverse_transform(adapter.transform(table), random_state=0)
    for column in STYLES:
        assert back[column].tolist() == table[column].tolist(), column


def test_missing_date_times_come_back_missing_in_place():
    table = clinic_table()[["millis", "dose"]]
    table.loc[::7, "millis"] = np.nan
    adapter, _ = fit_adapter(table)
    back = adapter.inverse_transform(adapter.transform(table), random_state=0)
    assert back["millis"].isna().tolist() == table["millis"].isna().tolist()
    assert back["millis"].dropna().tolist() == table["millis"].dropna().tolist()


def test_mixed_offsets_are_read_as_utc_instants_and_written_in_utc():
    table = clinic_table()
    adapter, notes = fit_adapter(table)
    assert notes == ["column 'summer_time' mixes UTC offsets (+01:00, +02:00); its values "
                     "were read as UTC instants and are written back in UTC (+00:00)"]
    back = adapter.inverse_transform(adapter.transform(table), random_state=0)
    assert back["summer_time"].str.fullmatch(DATE + r"T\d{2}:\d{2}:\d{2}\+00:00").all()
    pd.testing.assert_series_equal(instants(back["summer_time"]),
                                   instants(table["summer_time"]))


def test_a_column_that_truly_mixes_formats_is_still_said_to():
    days = local_visits(40).dt.strftime("%Y-%m-%d").tolist()
    days[::10] = [pd.Timestamp(day).strftime("%d/%m/%Y") for day in days[::10]]
    _, notes = fit_adapter(pd.DataFrame({"seen": days}))
    assert notes == ["column 'seen' mixes date formats; each value was read on its own and "
                     "dates are written back as %Y-%m-%d"]


@pytest.mark.parametrize("zone", [None, "Europe/Paris"])
def test_datetime64_with_times_comes_back_as_datetime64(zone):
    stamps = local_visits()
    stamps[::9] = pd.NaT
    stamps = stamps if zone is None else stamps.dt.tz_localize(zone)
    table = pd.DataFrame({"visit": stamps, "dose": np.linspace(1.0, 2.0, ROWS)})
    adapter, _ = fit_adapter(table)
    back = adapter.inverse_transform(adapter.transform(table), random_state=0)
    pd.testing.assert_series_equal(back["visit"], table["visit"])


def test_model_files_written_before_times_of_day_were_kept_still_load():
    table = clinic_table()
    new = DatetimeEncoder("minutes").fit(table["minutes"], np.random.default_rng(0))
    state = new.to_dict()
    for key in ("digits", "offset_style", "offset", "clock"):
        del state[key]
    old = DatetimeEncoder.from_dict(state)
    assert old.width == new.width - new.clock_.width
    rng = np.random.default_rng(0)
    assert old.inverse(old.transform(table["minutes"], rng), rng).tolist() == (
        table["minutes"].tolist())


# the model --------------------------------------------------------------------------------
def test_synthetic_date_times_keep_their_format_hours_and_range(synthesizer, clinic_csv,
                                                                tmp_path):
    path = tmp_path / "synthetic.csv"
    write_table(synthesizer.sample(300, random_state=1), path)
    real, synthetic = read_table(clinic_csv), read_table(path)
    for column, (_, offset, pattern) in STYLES.items():
        texts = synthetic[column]
        assert texts.str.fullmatch(pattern).all(), (column, texts.iloc[0])
        seen = instants(texts)
        assert instants(real[column]).min() <= seen.min(), column
        assert seen.max() <= instants(real[column]).max(), column
        if column != "days":
            hours = (seen + pd.Timedelta(minutes=offset)).dt.hour
            assert hours.between(8, 17).all(), (column, sorted(hours.unique()))
    assert (instants(synthetic["millis"]).dt.microsecond > 0).mean() > 0.9  # sub-second
    assert synthetic["summer_time"].str.fullmatch(
        DATE + r"T\d{2}:\d{2}:\d{2}\+00:00").all()


def test_model_files_keep_the_time_of_day_and_the_text_style(synthesizer, tmp_path):
    synthesizer.save(tmp_path / "visits.model")
    loaded = Synthesizer.load(tmp_path / "visits.model")
    assert loaded.adapter_.to_dict() == synthesizer.adapter_.to_dict()
    pd.testing.assert_frame_equal(loaded.sample(40, random_state=4),
                                  synthesizer.sample(40, random_state=4))


def test_sampling_can_be_conditioned_on_a_date_time():
    slots = ["2021-03-01T09:00:00+02:00", "2021-03-01T14:30:00+02:00",
             "2021-03-02T09:00:00+02:00", "2021-03-02T14:30:00+02:00"]
    table = pd.DataFrame({"slot": slots * 15, "dose": np.linspace(1.0, 3.0, 60)})
    model = Synthesizer(config="fast", epochs=2, random_state=0).fit(table)
    rows = model.sample(5, conditions={"slot": slots[3]}, random_state=0)
    assert rows["slot"].tolist() == [slots[3]] * 5
    with pytest.raises(DataError, match="outside the observed range"):
        model.sample(5, conditions={"slot": "2030-01-01T10:00:00+02:00"})


def test_report_distances_read_synthetic_date_times(synthesizer, clinic_csv):
    real = read_table(clinic_csv).drop(columns="summer_time")
    kinds = {column: synthesizer.metadata_[column] for column in real.columns}
    rows = RowEncoder(real, kinds).transform(synthesizer.sample(50, random_state=2))
    assert np.isfinite(rows.numbers).all()
    assert not rows.numbers[:, 1::2].any()  # no date read as missing
