"""The tabular adapter: kind inference, metadata overrides, round trips, decoding guarantees.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import clinical_table, every_kind_tables
from hypothesis import given
from hypothesis import strategies as st

from toolkit.adapters import TabularAdapter, TensorSpec
from toolkit.adapters.kinds import DATE_FORMATS as KNOWN_DATE_FORMATS
from toolkit.adapters.tabular import infer_kind
from toolkit.exceptions import (
    DataError,
    NotFittedError,
    UsageError,
)
from toolkit.io import read_table, write_table
from toolkit.io.csvfiles import Dialect
from toolkit.io.metadata import read_metadata
from toolkit.io.records import read_records

# from tests/test_adapter.py -----------------------------------------------------------------


DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y"]


def fit(df: pd.DataFrame, **kwargs) -> TabularAdapter:
    return TabularAdapter(random_state=0, **kwargs).fit(df)


def round_trip(df: pd.DataFrame, **kwargs) -> pd.DataFrame:
    adapter = fit(df, **kwargs)
    return adapter.inverse_transform(adapter.transform(df, random_state=0), random_state=0)


def random_codes(adapter: TabularAdapter, n: int = 500, seed: int = 0) -> np.ndarray:
    """Arbitrary model outputs: wide normal noise in every tensor column."""
    return np.random.default_rng(seed).normal(0.0, 3.0, (n, adapter.spec.width))


def day_stamps(n: int, seed: int = 0) -> pd.DatetimeIndex:
    days = np.random.default_rng(seed).integers(0, 12000, n)
    return pd.Timestamp("1980-01-01") + pd.to_timedelta(days, unit="D")


# kind inference ------------------------------------------------------------------------
def test_infers_continuous_for_fractional_numbers():
    assert infer_kind(pd.Series(np.linspace(0.5, 20.25, 40))) == "continuous"


def test_infers_integer_for_whole_numbers_with_many_values():
    assert infer_kind(pd.Series(np.arange(40) * 7 % 53)) == "integer"


def test_infers_integer_for_whole_floats_with_missing_values():
    values = np.arange(30, dtype=float)
    values[::4] = np.nan
    assert infer_kind(pd.Series(values)) == "integer"


def test_infers_categorical_for_strings():
    assert infer_kind(pd.Series(["a", "b", "a", "c", None])) == "categorical"


@pytest.mark.parametrize("values", [[1, 2, 3, 1, 2, 3, 4], [0.0, 0.5, 1.0, 0.5, 0.0]])
def test_infers_categorical_for_low_cardinality_numbers(values):
    assert infer_kind(pd.Series(values * 10)) == "categorical"


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([True, False, True]),
        pd.Series([True, False, np.nan, True], dtype=object),
        pd.Series([True, False, None, True], dtype="boolean"),
    ],
    ids=["bool", "object-with-nan", "nullable"],
)
def test_infers_boolean(series):
    assert infer_kind(series) == "boolean"


@pytest.mark.parametrize("fmt", DATE_FORMATS + ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"])
def test_infers_datetime_from_text_dates(fmt):
    series = pd.Series(day_stamps(30).strftime(fmt), dtype=object)
    series[3] = np.nan
    assert infer_kind(series) == "datetime"


def test_infers_datetime_from_datetime64():
    assert infer_kind(pd.Series(day_stamps(30))) == "datetime"


def test_text_that_is_not_dates_is_not_datetime():
    assert infer_kind(pd.Series(["2020-01-01", "soon", "2020-01-03", "soon"])) == "categorical"


def test_infers_id_from_all_unique_strings():
    assert infer_kind(pd.Series([f"P{i:05d}" for i in range(12, 60)])) == "id"


@pytest.mark.parametrize("name", ["id", "ID", "patient_id", "subject id", "record-id", "uuid"])
def test_infers_id_from_integer_column_named_like_an_id(name):
    assert infer_kind(pd.Series(np.arange(1000, 1040), name=name)) == "id"


@pytest.mark.parametrize("name", ["PatientID", "patientId"])
def test_infers_id_from_integer_column_with_camel_case_id_name(name):
    assert infer_kind(pd.Series(np.arange(1000, 1040), name=name)) == "id"


@pytest.mark.parametrize("name", ["kid", "paid", "valid", "width", "idx", "days"])
def test_unique_integers_not_named_like_an_id_stay_integer(name):
    # distinct measurements (not running numbers) are quantities whatever the name
    values = np.random.default_rng(0).choice(np.arange(1000, 5000), 40, replace=False)
    assert infer_kind(pd.Series(values, name=name)) == "integer"


def test_running_numbers_are_identifiers_by_their_values_alone():
    assert infer_kind(pd.Series(np.arange(1000, 1040), name="days")) == "id"


@pytest.mark.parametrize("values", [[7, 7, 7], ["x", "x"], [2.5] * 4])
def test_infers_constant(values):
    assert infer_kind(pd.Series(values)) == "constant"


def test_patients_kinds_match_the_sample_data_readme(patients):
    expected = {
        "id": "id", "time": "integer", "status": "categorical", "trt": "categorical",
        "age": "continuous", "sex": "categorical", "ascites": "boolean", "hepato": "boolean",
        "spiders": "boolean", "edema": "categorical", "bili": "continuous", "chol": "integer",
        "albumin": "continuous", "copper": "integer", "alk.phos": "continuous",
        "ast": "continuous", "trig": "integer", "platelet": "integer",
        "protime": "continuous", "stage": "categorical",
    }
    assert fit(patients).kinds_ == expected


# metadata overrides ----------------------------------------------------------------------
def test_metadata_dict_overrides_inferred_kind(patients):
    adapter = fit(patients, metadata={"stage": "integer", "edema": {"kind": "continuous"}})
    assert adapter.kinds_["stage"] == "integer"
    assert adapter.kinds_["edema"] == "continuous"
    assert adapter.kinds_["age"] == "continuous"


@pytest.mark.parametrize("under_columns", [False, True])
def test_metadata_yaml_file_overrides_inferred_kind(patients, tmp_path, under_columns):
    body = "stage: integer\nsex:\n  kind: categorical\n"
    if under_columns:
        body = "columns:\n" + "".join(f"  {line}\n" for line in body.splitlines())
    path = tmp_path / "meta.yaml"
    path.write_text(body)
    # the file is read by toolkit.io.metadata (adapters read no files)
    assert fit(patients, metadata=read_metadata(path)).kinds_["stage"] == "integer"
    assert fit(patients, metadata=read_metadata(str(path))).kinds_["stage"] == "integer"


def test_metadata_naming_an_unknown_column_raises(patients):
    with pytest.raises(DataError, match="no_such_column"):
        fit(patients, metadata={"no_such_column": "integer"})


def test_metadata_with_an_unknown_kind_raises_listing_valid_kinds(patients):
    with pytest.raises(UsageError, match="stage.*'ordinal'.*valid kinds:.*categorical"):
        fit(patients, metadata={"stage": "ordinal"})


def test_metadata_file_that_does_not_exist_raises(patients, tmp_path):
    with pytest.raises(UsageError, match="not found"):
        fit(patients, metadata=read_metadata(tmp_path / "missing.yaml"))
    with pytest.raises(UsageError, match="metadata must map column names to kinds"):
        fit(patients, metadata=str(tmp_path / "missing.yaml"))  # a path is not metadata


def test_metadata_kind_that_cannot_fit_the_column_raises_data_error(patients):
    with pytest.raises(DataError, match="metadata gives column 'sex' kind 'continuous', but it "
                                        "holds values that are not numbers"):
        fit(patients, metadata={"sex": "continuous"})


def test_unknown_numeric_encoding_raises(patients):
    with pytest.raises(UsageError, match="numeric_encoding"):
        fit(patients, numeric_encoding="minmax")


def test_transform_before_fit_raises_not_fitted(patients):
    with pytest.raises(NotFittedError):
        TabularAdapter().transform(patients)


def test_transform_of_a_table_missing_a_training_column_raises(patients):
    adapter = fit(patients)
    with pytest.raises(DataError, match="'age'"):
        adapter.transform(patients.drop(columns="age"))


# round trips -----------------------------------------------------------------------------
def test_transform_gives_float32_array_of_spec_width(patients):
    adapter = fit(patients)
    array = adapter.transform(patients)
    assert array.dtype == np.float32
    assert array.shape == (len(patients), adapter.spec.width)
    assert np.isfinite(array).all()


def assert_round_trip(original: pd.DataFrame, back: pd.DataFrame, skip=()) -> None:
    assert list(back.columns) == list(original.columns)
    for column in original.columns:
        if column in skip:
            continue
        before, after = original[column], back[column]
        assert after.dtype == before.dtype, column
        assert after.isna().tolist() == before.isna().tolist(), column
        if pd.api.types.is_numeric_dtype(before) and not pd.api.types.is_bool_dtype(before):
            observed = before.dropna().to_numpy(dtype=float)
            spread = float(observed.max() - observed.min()) or 1.0
            np.testing.assert_allclose(
                after.dropna().to_numpy(dtype=float), observed, rtol=1e-6, atol=1e-5 * spread,
                err_msg=column,
            )
        else:
            assert after.dropna().tolist() == before.dropna().tolist(), column


def test_round_trip_reproduces_patients(patients):
    # IDs are never reproduced (fresh IDs come back), everything else is
    assert_round_trip(patients, round_trip(patients), skip=("id",))


def test_round_trip_reproduces_generated_mixed_table(mixed):
    assert_round_trip(mixed, round_trip(mixed))


def test_round_trip_keeps_integer_columns_exact(patients):
    back = round_trip(patients)
    for column in ("time", "chol", "copper", "trig", "platelet"):
        pd.testing.assert_series_equal(back[column], patients[column])


@pytest.mark.parametrize("fmt", DATE_FORMATS)
def test_round_trip_gives_text_dates_back_in_the_same_format(fmt):
    dates = pd.Series(day_stamps(80).strftime(fmt), dtype=object)
    dates[::9] = np.nan
    df = pd.DataFrame({"visit": dates, "x": np.linspace(0.0, 1.0, 80)})
    back = round_trip(df)
    assert back["visit"].isna().tolist() == dates.isna().tolist()
    assert back["visit"].dropna().tolist() == dates.dropna().tolist()


@pytest.mark.parametrize("fmt", sorted(set(KNOWN_DATE_FORMATS)))
def test_text_dates_are_read_as_pandas_reads_them(fmt):
    stamps = pd.Timestamp("1990-01-01") + pd.to_timedelta(
        np.random.default_rng(1).integers(0, 10**9, 300), unit="s")
    text = pd.Series(stamps.strftime(fmt), dtype=object)
    text[::7] = np.nan
    text[3], text[5] = f" {text[4]} ", "not a date"
    encoder = fit(pd.DataFrame({"when": text.iloc[6:100]}))
    when = encoder.encoders_[0]
    assert when.format_ == fmt and not when.mixed_
    expected = when._seconds(pd.to_datetime(text, format=fmt, errors="coerce"))
    np.testing.assert_array_equal(when.to_float(text), expected)


def test_round_trip_gives_datetime64_back_as_datetime64():
    stamps = pd.Series(day_stamps(80))
    stamps[::7] = pd.NaT
    df = pd.DataFrame({"visit": stamps, "x": np.linspace(0.0, 1.0, 80)})
    back = round_trip(df)
    pd.testing.assert_series_equal(back["visit"], df["visit"])


def test_round_trip_keeps_the_time_zone_of_aware_datetime64():
    stamps = pd.Series(day_stamps(80)).dt.tz_localize("Europe/Paris")
    stamps[::7] = pd.NaT
    df = pd.DataFrame({"visit": stamps, "x": np.linspace(0.0, 1.0, 80)})
    back = round_trip(df)
    pd.testing.assert_series_equal(back["visit"], df["visit"], check_dtype=False)
    assert str(back["visit"].dtype) == str(df["visit"].dtype)


@pytest.mark.parametrize("fmt", ["%Y-%m-%d %H:%M:%S", None], ids=["text", "datetime64"])
def test_round_trip_keeps_timestamps_to_the_second(fmt):
    seconds = np.random.default_rng(0).integers(0, 86400, 200)
    stamps = pd.Series(day_stamps(200) + pd.to_timedelta(seconds, unit="s"))
    column = stamps if fmt is None else stamps.dt.strftime(fmt).astype(object)
    df = pd.DataFrame({"when": column, "x": np.linspace(0.0, 1.0, 200)})
    back = round_trip(df)
    assert back["when"].tolist() == column.tolist()


def test_round_trip_with_mode_encoding():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "bimodal": np.r_[rng.normal(0, 1, 150), rng.normal(10, 0.5, 50)],
            "count": rng.integers(0, 1000, 200),
            "group": rng.choice(["a", "b"], 200),
        }
    )
    adapter = fit(df, numeric_encoding="mode")
    assert any(block.n_modes > 0 for block in adapter.spec.blocks)
    assert_round_trip(df, adapter.inverse_transform(adapter.transform(df, random_state=0)))


@pytest.mark.parametrize(
    "column",
    [
        pd.array([True, False, None, True] * 5, dtype="boolean"),
        pd.array(["a", "b", None, "a"] * 5, dtype="string"),
    ],
    ids=["boolean", "string"],
)
def test_round_trip_keeps_missing_values_of_nullable_dtypes(column):
    df = pd.DataFrame({"c": column, "x": np.arange(20) * 1.5})
    back = round_trip(df)
    assert back["c"].isna().tolist() == df["c"].isna().tolist()


def test_adapter_with_nullable_missing_values_serializes_to_json():
    df = pd.DataFrame({"c": pd.array([True, False, None, True] * 5, dtype="boolean"),
                       "x": np.arange(20) * 1.5})
    adapter = fit(df)
    reloaded = TabularAdapter.from_dict(json.loads(json.dumps(adapter.to_dict())))
    tensor = adapter.transform(df, random_state=0)
    back = reloaded.inverse_transform(tensor, random_state=0)
    pd.testing.assert_frame_equal(back, adapter.inverse_transform(tensor, random_state=0))
    assert back["c"].isna().tolist() == df["c"].isna().tolist()


@given(
    st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
        min_size=2, max_size=60,
    ).filter(lambda values: len(set(values)) > 10)
)
def test_numeric_round_trip_property(values):
    df = pd.DataFrame({"v": values})
    back = round_trip(df)
    spread = max(values) - min(values)
    np.testing.assert_allclose(back["v"], df["v"], rtol=1e-6, atol=1e-5 * spread + 1e-9)


# decoding guarantees (what any model output turns into) ----------------------------------
def test_decoded_integer_columns_hold_whole_numbers(patients):
    adapter = fit(patients)
    decoded = adapter.inverse_transform(random_codes(adapter), random_state=0)
    for column in ("time", "chol", "copper", "trig", "platelet"):
        values = decoded[column].dropna().to_numpy()
        assert np.array_equal(values, np.round(values)), column
    assert decoded["time"].dtype == np.int64


@pytest.mark.parametrize(
    "column",
    ["time", pytest.param("age"), "bili", "chol", "albumin", "copper",
     "alk.phos", "ast", "trig", "platelet", "protime"],
)
def test_decoded_numbers_stay_within_the_observed_range(patients, column):
    adapter = fit(patients)
    decoded = adapter.inverse_transform(random_codes(adapter), random_state=0)[column]
    assert decoded.min() >= patients[column].min()
    assert decoded.max() <= patients[column].max()


def test_decoded_categories_are_only_seen_levels(patients):
    adapter = fit(patients)
    decoded = adapter.inverse_transform(random_codes(adapter), random_state=0)
    for column, kind in adapter.kinds_.items():
        if kind in ("categorical", "boolean"):
            seen = set(patients[column].dropna())
            assert set(decoded[column].dropna()) <= seen, column


def test_decoded_prefixed_ids_are_unique_and_never_training_ids():
    ids = [f"P{i:05d}" for i in range(12, 412)]
    df = pd.DataFrame({"pid": ids, "x": np.linspace(0.0, 1.0, 400)})
    adapter = fit(df)
    decoded = adapter.inverse_transform(random_codes(adapter, n=1000), random_state=0)["pid"]
    assert decoded.is_unique
    assert not decoded.isin(ids).any()
    assert decoded.str.fullmatch(r"P\d{5}").all()


def test_decoded_integer_ids_are_unique_and_never_training_ids(patients):
    adapter = fit(patients)
    decoded = adapter.inverse_transform(random_codes(adapter, n=1000), random_state=0)["id"]
    assert decoded.dtype == patients["id"].dtype
    assert decoded.is_unique
    assert not decoded.isin(patients["id"]).any()


def test_decoded_free_text_ids_are_unique_and_never_training_ids():
    rng = np.random.default_rng(0)
    ids = list(dict.fromkeys("".join(rng.choice(list("abcxyz019"), 3)) for _ in range(300)))
    df = pd.DataFrame({"code": ids, "x": np.linspace(0.0, 1.0, len(ids))})
    adapter = fit(df)
    assert adapter.kinds_["code"] == "id"
    decoded = adapter.inverse_transform(random_codes(adapter, n=300), random_state=0)["code"]
    assert decoded.is_unique
    assert not decoded.isin(ids).any()


def test_free_text_ids_after_json_reload_are_never_training_ids():
    ids = ["ab", "ba", "aa", "bb", "ca", "ac"]
    df = pd.DataFrame({"code": ids, "x": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5] * 1})
    adapter = fit(df, metadata={"code": "id"})  # six rows are too few to infer an ID
    reloaded = TabularAdapter.from_dict(json.loads(json.dumps(adapter.to_dict())))
    decoded = reloaded.inverse_transform(random_codes(adapter, n=3), random_state=0)["code"]
    assert not decoded.isin(ids).any()


def test_free_text_ids_from_a_small_alphabet_get_longer_instead_of_repeating():
    # every one-letter string of the alphabet {a, b} is a training ID: fresh IDs must be longer
    df = pd.DataFrame({"code": ["a", "b"], "x": [1.5, 2.5]})
    adapter = fit(df, metadata={"code": "id"})
    decoded = adapter.inverse_transform(random_codes(adapter, n=4), random_state=0)["code"]
    assert decoded.is_unique
    assert not decoded.isin(["a", "b"]).any()
    assert (decoded.str.len() > 1).all() and set("".join(decoded)) <= {"a", "b"}


def test_constant_column_decodes_to_its_value(mixed):
    adapter = fit(mixed)
    decoded = adapter.inverse_transform(random_codes(adapter, n=20), random_state=0)
    assert (decoded["site"] == "clinic-1").all()


# samples of a trained model ---------------------------------------------------------------
def test_samples_have_missing_values_at_about_the_training_rate(patients, synthetic):
    real_rate = patients.isna().mean()
    sample_rate = synthetic.isna().mean()
    assert (sample_rate - real_rate).abs().max() < 0.15
    assert (sample_rate[real_rate == 0] == 0).all()


def test_samples_keep_integer_columns_integer(patients, synthetic, fitted):
    for column, kind in fitted.metadata_.items():
        if kind == "integer":
            values = synthetic[column].dropna().to_numpy()
            assert np.array_equal(values, np.round(values)), column
    assert synthetic["time"].dtype == patients["time"].dtype


def test_samples_stay_within_the_observed_range(patients, synthetic, fitted):
    for column, kind in fitted.metadata_.items():
        if kind in ("continuous", "integer"):
            assert synthetic[column].min() >= patients[column].min(), column
            assert synthetic[column].max() <= patients[column].max(), column


def test_samples_hold_only_seen_categories(patients, synthetic, fitted):
    for column, kind in fitted.metadata_.items():
        if kind in ("categorical", "boolean"):
            assert set(synthetic[column].dropna()) <= set(patients[column].dropna()), column


def test_sampled_ids_are_unique_and_never_training_ids(patients, synthetic):
    assert synthetic["id"].is_unique
    assert not synthetic["id"].isin(patients["id"]).any()


# wide categoricals -------------------------------------------------------------------------
def test_high_cardinality_categorical_has_bounded_width():
    rng = np.random.default_rng(0)
    levels = np.array([f"level {i} of 5000" for i in range(5000)])
    df = pd.DataFrame({"code": np.r_[levels, rng.choice(levels, 5000)],
                       "x": rng.normal(size=10000)})
    adapter = fit(df)
    array = adapter.transform(df)
    decoded = adapter.inverse_transform(array, random_state=0)
    assert adapter.kinds_["code"] == "categorical"
    assert adapter.spec.blocks[0].width == adapter.max_levels + 1
    assert array.shape[1] == adapter.max_levels + 1 + 1
    assert decoded["code"].isin(levels).all()


def test_max_levels_bounds_the_one_hot_width():
    df = pd.DataFrame({"code": [f"c{i % 40}" for i in range(400)], "x": np.arange(400) * 0.5})
    adapter = fit(df, max_levels=10)
    assert adapter.spec.blocks[0].width == 11


# the spec and serialization ----------------------------------------------------------------
def test_spec_to_dict_from_dict_round_trip(patients):
    spec = fit(patients).spec
    assert TensorSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_spec_matches_the_transformed_width(patients):
    adapter = fit(patients)
    assert adapter.transform(patients).shape[1] == adapter.spec.width


@pytest.mark.parametrize("encoding", ["quantile", "mode"])
def test_adapter_json_round_trip_gives_identical_inverse_transform(patients, encoding):
    if encoding == "mode":  # a mixture per numeric column: keep it to a few columns
        patients = patients[["id", "time", "age", "sex", "ascites", "chol", "stage"]]
    adapter = fit(patients, numeric_encoding=encoding)
    reloaded = TabularAdapter.from_dict(json.loads(json.dumps(adapter.to_dict())))
    assert reloaded.spec == adapter.spec
    codes = random_codes(adapter)
    expected = adapter.inverse_transform(codes, random_state=3)
    pd.testing.assert_frame_equal(reloaded.inverse_transform(codes, random_state=3), expected)
    np.testing.assert_array_equal(reloaded.transform(patients, random_state=0),
                                  adapter.transform(patients, random_state=0))


def test_rare_levels_are_drawn_given_the_column_that_tells_most_about_them():
    rng = np.random.default_rng(0)
    carrier = rng.choice(list("ABCDEFGH"), 6000)
    tail = np.array([f"{c}{rng.integers(0, 150)}" for c in carrier])  # ~1,200 tail numbers
    df = pd.DataFrame({"carrier": carrier, "tailnum": tail, "x": rng.normal(size=6000)})
    adapter = TabularAdapter(max_levels=40, random_state=0).fit(df)
    encoder = adapter.encoders_[1]
    assert encoder.parent_ == "carrier" and len(encoder.other_levels_) > 1000
    back = adapter.inverse_transform(adapter.transform(df), random_state=0)
    assert (back["tailnum"].str[0] == back["carrier"]).all()  # every tail fits its airline
    rebuilt = TabularAdapter.from_dict(adapter.to_dict())
    again = rebuilt.inverse_transform(adapter.transform(df), random_state=0)
    pd.testing.assert_frame_equal(again, back)


def test_rare_levels_independent_of_every_column_keep_their_frequencies():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"group": rng.choice(["a", "b"], 4000),
                       "code": rng.integers(0, 500, 4000).astype(str)})
    adapter = TabularAdapter(max_levels=20, random_state=0).fit(df)
    assert adapter.encoders_[1].parent_ is None


# from tests/test_roundtrip.py ---------------------------------------------------------------








def _modelled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns="patient_id")


@pytest.mark.slow
@given(every_kind_tables())
def test_every_kind_survives_the_adapter_round_trip(table):
    adapter = TabularAdapter(random_state=0).fit(table)
    assert adapter.kinds_ == {"measure": "continuous", "count": "integer",
                              "group": "categorical", "zip": "categorical", "flag": "boolean",
                              "seen": "datetime", "site": "constant", "patient_id": "id"}
    back = adapter.inverse_transform(adapter.transform(table), random_state=0)
    # the model tensor is float32: numbers come back within 1e-6 of the column's spread
    spread = float(np.nanmax(table["measure"]) - np.nanmin(table["measure"]))
    pd.testing.assert_series_equal(back["measure"], table["measure"], check_exact=False,
                                   rtol=0, atol=1e-6 * spread)
    pd.testing.assert_frame_equal(_modelled(back).drop(columns="measure"),
                                  _modelled(table).drop(columns="measure"))
    assert not back["patient_id"].isin(table["patient_id"]).any()


# from tests/test_trust_api.py ---------------------------------------------------------------




def test_complex_column_is_not_silently_made_real():
    table = clinical_table()
    table["impedance"] = table["age"] + 1j * table["stage"]
    with pytest.raises(DataError, match="real and imaginary parts"):
        TabularAdapter().fit(table)


# from tests/test_trust_files.py -------------------------------------------------------------


# byte order marks, line ends -----------------------------------------------------------------
def test_a_byte_order_mark_and_crlf_line_ends_come_back_through_a_model_file(workdir):
    text = "n,age,site\r\n" + "".join(f"{i % 10},{40 + i % 30}.5,{'ab'[i % 2]}\r\n"
                                      for i in range(60))
    Path("excel.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    table = read_table("excel.csv")
    assert Dialect.of(table) == Dialect(bom=True, line_end="\r\n")
    write_table(table, "copy.csv")
    assert Path("copy.csv").read_bytes() == Path("excel.csv").read_bytes()
    records = read_records("excel.csv")  # the dialect travels in the records' provenance
    adapter = TabularAdapter(random_state=0).fit(records.data, records.provenance)
    loaded = TabularAdapter.from_dict(json.loads(json.dumps(adapter.to_dict())))
    write_table(loaded.inverse_transform(loaded.transform(table)), "decoded.csv")
    assert Path("decoded.csv").read_bytes() == Path("excel.csv").read_bytes()


def test_a_model_saved_before_byte_order_marks_were_kept_writes_plain_lines(workdir):
    table = pd.DataFrame({"age": np.linspace(20, 80, 30).round(1), "sex": ["f", "m", "f"] * 10})
    state = TabularAdapter(random_state=0).fit(table).to_dict()
    state["csv_dialect"] = {"delimiter": ";", "decimal": ",", "encoding": "utf-8"}
    adapter = TabularAdapter.from_dict(state)
    write_table(adapter.inverse_transform(adapter.transform(table)), "old.csv")
    assert Path("old.csv").read_bytes().startswith(b"age;sex\n20,0;f\n")


# floats keep their decimals ------------------------------------------------------------------
def test_floats_with_fourteen_decimals_come_back_with_fourteen(workdir):
    rng = np.random.default_rng(0)
    values = np.round(rng.uniform(0, 1, 200), 14).tolist()
    Path("precise.csv").write_text("x,y\n" + "".join(f"{v!r},{i % 3}\n"
                                                     for i, v in enumerate(values)))
    table = read_table("precise.csv")
    adapter = TabularAdapter(random_state=0).fit(table)
    encoded = adapter.transform(table)
    encoded[100:, 0] += rng.normal(0, 0.01, len(encoded) - 100)  # new values between them
    write_table(adapter.inverse_transform(encoded), "back.csv")
    back = pd.read_csv("back.csv", dtype=str)["x"]
    assert max(len(text.split(".")[1]) for text in back) == 14  # as written, not 8
    assert np.abs(back.astype(float).to_numpy()[:100] - values[:100]).max() < 1e-6


@pytest.mark.parametrize("encoding", ["quantile", "standard"])
@given(table=every_kind_tables())
def test_scoring_encoding_in_one_pass_equals_its_two_passes(encoding, table):
    train, scored = table.iloc[: len(table) // 2], table.iloc[len(table) // 2 :].copy()
    adapter = TabularAdapter(numeric_encoding=encoding, random_state=0).fit(train)
    scored["group"] = scored["group"].astype(object)
    scored.iloc[0, scored.columns.get_loc("group")] = "never seen"  # an unseen level
    scored["measure"] = scored["measure"] * 3.0  # partly out of the training range
    encoded, novel = adapter.transform_with_novelty(scored)
    np.testing.assert_array_equal(encoded, adapter.transform(scored, clip=False))
    pd.testing.assert_frame_equal(novel, adapter.novel_cells(scored))
    assert novel["group"].iloc[0]


def test_select_columns_picks_and_orders_the_training_columns_without_checks():
    table = clinical_table()
    adapter = TabularAdapter(random_state=0).fit(table)
    assert adapter.select_columns(table) is table  # nothing to do: no copy
    reordered = table[["stage", "sex", "age"]].assign(extra=1.0)
    assert list(adapter.select_columns(reordered).columns) == ["age", "sex", "stage"]
    with pytest.raises(DataError, match=r"table lacks column\(s\) \['sex'\]"):
        adapter.select_columns(table.drop(columns="sex"))
