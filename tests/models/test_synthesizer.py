"""toolkit.models.synthesizer: the Synthesizer's scikit-learn and SDV habits, sampling and
conditions, calibration of level shares, bounded fits, chunks and column labels."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn.exceptions
import torch
from conftest import FAST, make_mixed
from helpers import admissions_table, clinical_table
from sklearn.base import clone

from toolkit import AnomalyDetector, Synthesizer
from toolkit.config import Config, load_config
from toolkit.exceptions import DataError, NotFittedError, UsageError
from toolkit.io.modelfile import load_model, save_model

# from tests/test_big_tables.py --------------------------------------------------------------




def test_a_synthesizer_learns_a_big_file_from_a_bounded_sample(patients_csv, small_bound):
    model = Synthesizer(config=small_bound, epochs=2, random_state=0).fit(patients_csv)
    assert model.n_rows_ == 150 and model.n_rows_seen_ == 418
    assert model.sample(20).shape == (20, 20)


def test_a_small_table_is_learnt_whole(patients):
    model = Synthesizer(**FAST, random_state=0).fit(patients)
    assert model.n_rows_ == model.n_rows_seen_ == 418




def test_chunks_continue_one_sequence_and_number_ids_across_chunks(model_file):
    model = Synthesizer.load(model_file)
    chunks = list(model.sample_chunks(250, chunk_rows=100, random_state=5))
    assert [len(chunk) for chunk in chunks] == [100, 100, 50]
    again = Synthesizer.load(model_file)
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True),
                                  pd.concat(again.sample_chunks(250, 100, random_state=5),
                                            ignore_index=True))
    one = Synthesizer.load(model_file)
    pd.testing.assert_frame_equal(next(one.sample_chunks(80, 100, random_state=5)),
                                  Synthesizer.load(model_file).sample(80, random_state=5))
    with pytest.raises(UsageError, match="chunk_rows must be a positive integer"):
        next(model.sample_chunks(10, chunk_rows=0))


# from tests/test_calibration.py -------------------------------------------------------------


def skewed(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c", "d"], n, p=[0.7, 0.2, 0.07, 0.03])
    return pd.DataFrame({"group": group, "x": rng.normal(size=n) + (group == "a")})


def test_sampled_level_shares_match_the_data():
    data = skewed()
    model = Synthesizer(**FAST, random_state=0).fit(data)
    assert model.backend_.heads.level_bias.abs().sum() > 0
    shares = model.sample(20000, random_state=1)["group"].value_counts(normalize=True)
    real = data["group"].value_counts(normalize=True)
    assert (shares - real).abs().max() < 0.02, (shares, real)


def test_calibration_moves_only_sampling_not_scores():
    data = skewed()
    model = Synthesizer(**FAST, random_state=0).fit(data)
    x = torch.from_numpy(model.adapter_.transform(data))
    before = model.backend_.part_nll(x)
    model.backend_.heads.level_bias.zero_()
    assert torch.equal(model.backend_.part_nll(x), before)


def test_a_model_file_without_the_calibration_still_loads(tmp_path):
    data = skewed(500)
    model = Synthesizer(**FAST, random_state=0).fit(data)
    path = tmp_path / "model.tkm"
    model.save(path)
    tensors, document = load_model(path)
    for name in ("level_bias", "scalar_generated", "scalar_target", "scalar_mapped"):
        tensors.pop(f"heads.{name}", None)  # the maps are left out unless used
    document = {k: v for k, v in document.items() if k not in ("format", "format_version")}
    save_model(tmp_path / "old.tkm", tensors, document)
    old = Synthesizer.load(tmp_path / "old.tkm")
    assert old.backend_.heads.level_bias.abs().sum() == 0
    assert not old.backend_.heads.scalar_mapped.any()
    assert len(old.sample(10)) == 10


def test_sampled_numbers_follow_the_data_marginal_and_the_map_is_saved(tmp_path):
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"x": rng.lognormal(0, 1, 2000), "y": rng.normal(size=2000)})
    assert not Synthesizer(**FAST, random_state=0).fit(data).backend_.heads.scalar_mapped.any()
    mapped = load_config("fast", epochs=3, marginal_map_rows=2000)  # from 2,000 rows on
    model = Synthesizer(config=mapped, random_state=0).fit(data)
    assert model.backend_.heads.scalar_mapped.all()
    synthetic = model.sample(20000, random_state=1)
    for column in ("x", "y"):
        real = data[column].quantile([0.05, 0.5, 0.95]).to_numpy()
        drawn = synthetic[column].quantile([0.05, 0.5, 0.95]).to_numpy()
        assert np.abs(drawn - real).max() < 0.15 * data[column].std(), (column, real, drawn)
    model.save(tmp_path / "model.tkm")
    again = Synthesizer.load(tmp_path / "model.tkm")
    assert again.sample(50, random_state=2).equals(model.sample(50, random_state=2))
    assert "heads.scalar_target" in load_model(tmp_path / "model.tkm")[0]
    unmapped = Synthesizer(**FAST, random_state=0).fit(data)  # a file without unused maps
    unmapped.save(tmp_path / "unmapped.tkm")
    assert "heads.scalar_target" not in load_model(tmp_path / "unmapped.tkm")[0]
    back = Synthesizer.load(tmp_path / "unmapped.tkm")
    assert back.sample(50, random_state=2).equals(unmapped.sample(50, random_state=2))


# from tests/test_synthesizer.py -------------------------------------------------------------


def fit_mixed(seed: int = 0, **params) -> Synthesizer:
    return Synthesizer(**{**FAST, "random_state": seed, **params}).fit(make_mixed())


# fit and sample ----------------------------------------------------------------------------
def test_fit_returns_self(mixed):
    synthesizer = Synthesizer(**FAST, random_state=0)
    assert synthesizer.fit(mixed) is synthesizer


def test_sample_has_the_requested_rows_and_training_columns(patients, synthetic):
    assert synthetic.shape == (1000, patients.shape[1])
    assert list(synthetic.columns) == list(patients.columns)


def test_sample_keeps_training_dtypes(patients, synthetic):
    assert synthetic.dtypes.to_dict() == patients.dtypes.to_dict()


def test_sample_keeps_dtypes_of_generated_table(mixed):
    sample = fit_mixed().sample(50)
    assert sample.dtypes.to_dict() == mixed.dtypes.to_dict()


def test_fit_accepts_a_2d_numpy_array():
    data = np.random.default_rng(0).normal(size=(60, 3))
    sample = Synthesizer(**FAST, random_state=0).fit(data).sample(7)
    assert sample.shape == (7, 3)


def test_fitted_attributes_end_in_underscore(fitted):
    for name in ("adapter_", "backend_", "config_", "history_", "fit_seconds_"):
        assert hasattr(fitted, name)
    assert fitted.fit_seconds_ > 0


def test_metadata_reports_the_kinds_used(fitted):
    assert fitted.metadata_["id"] == "id"
    assert fitted.metadata_["age"] == "continuous"


def test_metadata_parameter_overrides_inferred_kinds(mixed):
    synthesizer = Synthesizer(**FAST, metadata={"count": "categorical"}, random_state=0)
    assert synthesizer.fit(mixed).metadata_["count"] == "categorical"


def test_sample_with_random_state_is_repeatable(fitted):
    first, second = fitted.sample(20, random_state=3), fitted.sample(20, random_state=3)
    assert first.drop(columns="id").equals(second.drop(columns="id"))


def test_ids_are_unique_across_calls_and_never_real(fitted, patients):
    first, second = fitted.sample(20, random_state=3), fitted.sample(20, random_state=3)
    ids = pd.concat([first["id"], second["id"]])
    assert ids.is_unique
    assert not ids.isin(patients["id"]).any()


def test_per_row_conditions_give_unique_ids(fitted):
    conditions = pd.DataFrame({"sex": ["m", "f", "m", "f", None, "m"] * 5})
    sample = fitted.sample(30, conditions=conditions, random_state=0)
    assert sample["id"].is_unique
    assert sample["sex"].iloc[:4].tolist() == ["m", "f", "m", "f"]


def test_consecutive_samples_differ(mixed):
    synthesizer = fit_mixed()
    assert not synthesizer.sample(30).equals(synthesizer.sample(30))


def test_sampled_text_dates_keep_the_training_format_and_range():
    rng = np.random.default_rng(0)
    days = pd.Timestamp("2000-01-01") + pd.to_timedelta(rng.integers(0, 5000, 200), unit="D")
    df = pd.DataFrame({"visit": days.strftime("%d/%m/%Y"), "x": rng.normal(size=200)})
    sample = Synthesizer(**FAST, random_state=0).fit(df).sample(100)
    parsed = pd.to_datetime(sample["visit"], format="%d/%m/%Y")  # raises on another format
    assert parsed.min() >= days.min() and parsed.max() <= days.max()


def test_sample_more_rows_than_one_chunk(fitted):
    from toolkit.models.synthesizer import SAMPLE_CHUNK

    sample = fitted.sample(SAMPLE_CHUNK + 10, random_state=0)
    assert len(sample) == SAMPLE_CHUNK + 10
    assert sample["id"].is_unique


def test_verbose_fit_works(mixed, capsys):
    Synthesizer(**FAST, random_state=0, verbose=True).fit(mixed)
    assert capsys.readouterr().out == ""


def test_constant_column_is_reproduced(mixed):
    sample = fit_mixed().sample(40)
    assert (sample["site"] == "clinic-1").all()


# seeding ---------------------------------------------------------------------------------
def test_same_random_state_gives_bit_identical_samples():
    first, second = fit_mixed(seed=7), fit_mixed(seed=7)
    assert first.sample(100).equals(second.sample(100))
    for name, tensor in first.backend_.state_dict().items():
        assert torch.equal(tensor, second.backend_.state_dict()[name]), name


def test_different_random_states_give_different_samples():
    assert not fit_mixed(seed=1).sample(100).equals(fit_mixed(seed=2).sample(100))


@pytest.mark.parametrize("seed", [5, None])
def test_fit_and_sample_leave_torch_global_rng_untouched(mixed, seed):
    torch.manual_seed(1234)
    initial_seed, state = torch.initial_seed(), torch.get_rng_state()
    Synthesizer(**FAST, random_state=seed).fit(mixed).sample(10)
    assert torch.initial_seed() == initial_seed
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("seed", [5, None])
def test_fit_and_sample_leave_numpy_global_rng_untouched(mixed, seed):
    np.random.seed(1234)
    before = np.random.get_state()
    Synthesizer(**FAST, random_state=seed).fit(mixed).sample(10)
    after = np.random.get_state()
    assert before[0] == after[0]
    assert np.array_equal(before[1], after[1])
    assert before[2:] == after[2:]


# model files -----------------------------------------------------------------------------
def test_save_load_round_trip_gives_identical_samples(tmp_path, mixed):
    path = tmp_path / "model.tkm"
    fit_mixed(seed=3).save(path)
    fresh, loaded = fit_mixed(seed=3), Synthesizer.load(path)
    # the first sample continues the fit seed's sequence, in both
    pd.testing.assert_frame_equal(loaded.sample(50), fresh.sample(50))
    pd.testing.assert_frame_equal(loaded.sample(50, random_state=9),
                                  fresh.sample(50, random_state=9))


def test_loaded_model_keeps_params_kinds_and_history(model_file, fitted):
    loaded = Synthesizer.load(model_file)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.metadata_ == fitted.metadata_
    assert loaded.history_ == fitted.history_
    assert loaded.config_ == fitted.config_


def test_save_load_with_a_config_object(tmp_path, mixed):
    config = Config(epochs=2, hidden_dims=[16], latent_dim=4, batch_size=64)
    synthesizer = Synthesizer(config=config, random_state=0).fit(mixed)
    synthesizer.save(tmp_path / "model.tkm")
    loaded = Synthesizer.load(tmp_path / "model.tkm")
    assert loaded.config_ == synthesizer.config_
    pd.testing.assert_frame_equal(loaded.sample(20, random_state=1),
                                  synthesizer.sample(20, random_state=1))


def test_save_before_fit_raises_not_fitted(tmp_path):
    with pytest.raises(NotFittedError):
        Synthesizer().save(tmp_path / "model.tkm")
    assert list(tmp_path.iterdir()) == []


# scikit-learn contract ---------------------------------------------------------------------
def test_init_stores_parameters_unchanged_without_validation():
    synthesizer = Synthesizer(backend="nope", config="missing", epochs=-3)
    assert synthesizer.get_params()["backend"] == "nope"
    assert synthesizer.get_params()["epochs"] == -3


def test_get_params_returns_the_init_arguments():
    params = Synthesizer(config="fast", epochs=4, random_state=2).get_params()
    assert params == {"backend": None, "config": "fast", "epochs": 4, "batch_size": None,
                      "metadata": None, "device": None, "random_state": 2, "verbose": False,
                      "epsilon": None, "delta": None, "max_grad_norm": 1.0,
                      "avoid_copies": True, "subject": None, "order": None}


def test_set_params_changes_parameters_and_returns_self():
    synthesizer = Synthesizer(config="fast")
    assert synthesizer.set_params(epochs=2, random_state=5) is synthesizer
    assert synthesizer.epochs == 2 and synthesizer.random_state == 5


def test_set_params_takes_effect_on_fit(mixed):
    synthesizer = Synthesizer(**FAST, random_state=0).set_params(epochs=2).fit(mixed)
    assert len(synthesizer.history_["loss"]) == 2


def test_set_params_rejects_unknown_parameter():
    with pytest.raises(ValueError):
        Synthesizer().set_params(layers=3)


def test_clone_gives_an_unfitted_copy_with_the_same_params(fitted):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "backend_")


def test_clone_then_fit_reproduces_the_original(mixed):
    original = fit_mixed(seed=4)
    pd.testing.assert_frame_equal(clone(original).fit(mixed).sample(30), original.sample(30))


# errors ----------------------------------------------------------------------------------
def test_sample_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted"):
        Synthesizer().sample(5)


def test_not_fitted_error_is_sklearns():
    assert issubclass(NotFittedError, sklearn.exceptions.NotFittedError)


@pytest.mark.parametrize("rows", [0, -1, 2.5, True])
def test_sample_rejects_non_positive_or_non_integer_rows(fitted, rows):
    with pytest.raises(UsageError, match="num_rows"):
        fitted.sample(rows)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda df: pd.DataFrame(), "no columns"),
        (lambda df: df.iloc[:0], "no rows"),
        (lambda df: df.iloc[:1], "1 row"),
        (lambda df: df.assign(empty=np.nan), "'empty'.*all missing"),
        (lambda df: df.assign(x=df["x"].where(df.index != 3, np.inf)), "'x' contains inf"),
        (lambda df: df.assign(x=df["x"].where(df.index != 3, -np.inf)), "'x' contains inf"),
    ],
    ids=["empty", "header-only", "one-row", "all-nan-column", "inf", "minus-inf"],
)
def test_fit_on_unusable_table_raises_data_error_naming_the_problem(mixed, make, message):
    with pytest.raises(DataError, match=message):
        Synthesizer(**FAST, random_state=0).fit(make(mixed))


def test_fit_on_only_ids_and_constants_raises_data_error():
    df = pd.DataFrame({"patient_id": np.arange(10), "site": ["A"] * 10})
    with pytest.raises(DataError, match="no column to model"):
        Synthesizer(**FAST, random_state=0).fit(df)


def test_fit_on_a_non_table_raises_data_error():
    with pytest.raises(DataError, match="expected a 2-D array or a DataFrame"):
        Synthesizer(**FAST).fit(42)


def test_fit_reads_a_table_file_by_its_path(patients_csv):
    model = Synthesizer(**FAST, random_state=0).fit(str(patients_csv))
    assert list(model.sample(3).columns) == model.adapter_.columns_


def test_unknown_backend_raises_usage_error(mixed):
    with pytest.raises(UsageError, match="unknown backend 'diffusion'; valid: vae, gan, vaegan"):
        Synthesizer(**FAST, backend="diffusion").fit(mixed)


def test_unknown_preset_raises_usage_error_listing_presets(mixed):
    expected = ("unknown config 'turbo'.*default, detect, detect-images, fast, gan, gan-images, "
                "private, vae, vaegan")
    with pytest.raises(UsageError, match=expected):
        Synthesizer(config="turbo").fit(mixed)


def test_unknown_config_key_raises_usage_error_listing_valid_keys(mixed, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("epochs: 2\nlayers: 3\n")
    with pytest.raises(UsageError, match=r"\['layers'\].*valid keys:.*epochs.*latent_dim"):
        Synthesizer(config=path).fit(mixed)


@pytest.mark.parametrize("random_state", ["seed", 1.5])
def test_bad_random_state_raises_usage_error(mixed, random_state):
    with pytest.raises(UsageError, match="random_state"):
        Synthesizer(**FAST, random_state=random_state).fit(mixed)


def test_cuda_device_without_cuda_raises_usage_error(mixed):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(UsageError, match="CUDA"):
        Synthesizer(**FAST, device="cuda").fit(mixed)


# config overrides --------------------------------------------------------------------------
@pytest.mark.parametrize("epochs", [1, 4])
def test_epochs_override_sets_the_number_of_epochs(mixed, epochs):
    synthesizer = Synthesizer(config="fast", epochs=epochs, random_state=0).fit(mixed)
    assert len(synthesizer.history_["loss"]) == epochs
    assert synthesizer.config_.epochs == epochs


def test_batch_size_override_takes_effect(mixed):
    synthesizer = Synthesizer(**FAST, batch_size=16, random_state=0).fit(mixed)
    assert synthesizer.config_.batch_size == 16


def test_history_records_loss_parts_per_epoch(fitted):
    assert set(fitted.history_) == {"loss", "reconstruction", "kl"}
    assert all(len(values) == 10 for values in fitted.history_.values())
    assert all(np.isfinite(values).all() for values in fitted.history_.values())


# from tests/test_trust_api.py ---------------------------------------------------------------






@pytest.fixture(scope="module")
def numbered_model(numbered) -> Synthesizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Synthesizer(**FAST, random_state=0).fit(numbered)


# column labels ----------------------------------------------------------------------------
def test_integer_labels_come_back_as_integers(numbered_model, numbered):
    rows = numbered_model.sample(20, random_state=1)
    assert rows.columns.tolist() == [0, 1, 2]
    assert all(type(label) is int for label in rows.columns)
    assert set(rows[1]) <= {"f", "m"}
    assert rows[0].dtype == numbered[0].dtype


def test_integer_labels_round_trip_through_the_model_file(numbered_model, tmp_path):
    numbered_model.save(tmp_path / "numbered.tkm")
    loaded = Synthesizer.load(tmp_path / "numbered.tkm")
    assert loaded.adapter_.labels_ == [0, 1, 2]
    assert loaded.sample(15, random_state=3).equals(numbered_model.sample(15, random_state=3))


def test_conditions_name_integer_labels(numbered_model):
    assert set(numbered_model.sample(10, conditions={1: "f"}, random_state=0)[1]) == {"f"}
    per_row = numbered_model.sample(3, conditions=pd.DataFrame({1: ["m", "f", None]}),
                                    random_state=0)
    assert per_row[1].tolist()[:2] == ["m", "f"]
    with pytest.raises(DataError, match=r"unknown column 7; columns: \[0, 1, 2\]"):
        numbered_model.sample(2, conditions={7: "x"})


def test_mixed_labels_are_kept_by_a_synthesizer():
    table = clinical_table().set_axis(["age", 1, 2.5], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = Synthesizer(**FAST, random_state=0).fit(table).sample(5)
    assert rows.columns.tolist() == ["age", 1, 2.5]


def test_multiindex_columns_are_refused_with_the_fix():
    table = clinical_table().set_axis(pd.MultiIndex.from_tuples(
        [("vitals", "age"), ("person", "sex"), ("tumour", "stage")]), axis=1)
    fix = re.escape("df.columns = ['_'.join(map(str, c)) for c in df.columns]")
    for model in (Synthesizer(**FAST, random_state=0), AnomalyDetector(**FAST, random_state=0)):
        with pytest.raises(DataError, match=f"has MultiIndex columns; flatten them, e.g. {fix}"):
            model.fit(table)


@pytest.mark.parametrize(("labels", "message"), [
    ([1, "1", "stage"], "has columns 1 and '1', both named '1'; rename one"),
    (["age", None, "stage"], "has column label None"),
    (["age", pd.Timestamp("2024-01-01"), "stage"], "has column label Timestamp"),
])
def test_labels_that_cannot_be_kept_are_named(labels, message):
    with pytest.raises(DataError, match=re.escape(message)):
        Synthesizer(**FAST, random_state=0).fit(clinical_table().set_axis(labels, axis=1))


@pytest.mark.parametrize(("values", "holds"), [
    ([{"code": 1}], "dict"), ([[1, 2]], "list"), ([{1, 2}], "set"), ([b"\x00"], "bytes"),
    ([1 + 2j], "complex"), ([np.array([1.0, 2.0])], "ndarray"),
])
def test_columns_of_unmodellable_values_are_named(values, holds):
    table = clinical_table()
    table["notes"] = pd.Series(values * len(table),
                               dtype=complex if holds == "complex" else object)
    for model in (Synthesizer(**FAST, random_state=0), AnomalyDetector(**FAST, random_state=0)):
        with pytest.raises(DataError, match=f"column 'notes' holds {holds} values") as error:
            model.fit(table)
        assert "\n" not in str(error.value)


def test_arrow_list_column_is_named():
    import pyarrow as pa

    table = clinical_table()
    table["codes"] = pd.Series([["I10", "E11"]] * len(table),
                               dtype=pd.ArrowDtype(pa.list_(pa.string())))
    with pytest.raises(DataError, match="column 'codes' holds list values"):
        Synthesizer(**FAST, random_state=0).fit(table)


# rules --------------------------------------------------------------------------------------
RULES = {"rules": [{"inequality": ["admitted", "discharged"], "strict": True},
                   {"inequality": ["diastolic", "systolic"]},
                   {"combination": ["city", "country"]},
                   {"expression": "systolic - diastolic < 150"}]}


def test_stated_rules_hold_on_every_generated_row(tmp_path):
    from toolkit.adapters.rules import Rules

    table = admissions_table()
    free = Synthesizer(config="fast", epochs=3, random_state=0).fit(table).sample(2000)
    checker = Rules.from_metadata(RULES)
    checker.forward(table)
    assert checker.violations(free)["admitted < discharged"] > 100  # the rows alone break it
    model = Synthesizer(config="fast", epochs=3, metadata=RULES, random_state=0).fit(table)
    ruled = model.sample(2000)
    assert checker.violations(ruled) == {str(rule): 0 for rule in checker.rules}
    assert list(ruled.columns) == list(table.columns)
    assert ruled["discharged"].dtype == table["discharged"].dtype
    assert (ruled["discharged"].dt.second != 0).any()  # seconds kept, not rounded away
    model.save(tmp_path / "ruled.tkm")
    loaded = Synthesizer.load(tmp_path / "ruled.tkm")
    assert checker.violations(loaded.sample(500)) == {str(r): 0 for r in checker.rules}
    france = model.sample(50, conditions={"city": "Lyon"})  # a determinant can be fixed
    assert set(france["country"]) == {"France"}


def test_a_condition_on_a_rebuilt_column_or_rules_with_epsilon_are_refused():
    table = admissions_table(200)
    model = Synthesizer(config="fast", epochs=1, metadata=RULES, random_state=0).fit(table)
    with pytest.raises(UsageError, match="condition on 'discharged', which the rule"):
        model.sample(5, conditions={"discharged": pd.Timestamp("2021-01-01")})
    with pytest.raises(UsageError, match="country='Italy' fixes 2 of the seen combinations"):
        model.sample(5, conditions={"country": "Italy"})
    with pytest.raises(UsageError, match="city='Lyon', country='Italy' is no seen combination"):
        model.sample(5, conditions={"city": "Lyon", "country": "Italy"})
    with pytest.raises(UsageError, match="rules cannot be used with epsilon"):
        Synthesizer(config="fast", epochs=1, metadata=RULES, epsilon=1.0).fit(table)


def test_a_flat_fit_infers_the_column_kinds_once(monkeypatch):
    # looking for a subject column and fitting the adapter share one inference (it costs
    # seconds on a large table); the warnings it gives are still said once
    import toolkit.adapters.tabular as tabular
    import toolkit.models.histories as histories
    import toolkit.models.synthesizer as synthesizer
    from toolkit.adapters.kinds import infer_kinds

    calls = []

    def counted(data, overrides):
        calls.append(len(data))
        return infer_kinds(data, overrides)

    for module in (tabular, histories, synthesizer):
        monkeypatch.setattr(module, "infer_kinds", counted)
    table = pd.DataFrame({"x": np.arange(60.0) % 7, "g": ["a", "b", "c"] * 20})
    Synthesizer(config="fast", epochs=1, random_state=0).fit(table)
    assert calls == [60]
