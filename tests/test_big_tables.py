"""Big tables in one process: streamed uniform samples, Parquet folders, bounded fits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import FAST

from toolkit import AnomalyDetector, Synthesizer
from toolkit.adapters import TabularAdapter
from toolkit.adapters.domains import adapter_type
from toolkit.exceptions import DataError, UsageError
from toolkit.io import count_rows, read_table, sample_table, write_table


@pytest.fixture
def counts(tmp_path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"row": np.arange(5000), "code": rng.choice(["01", "02", "10"], 5000),
                         "value": rng.normal(size=5000).round(3)})


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_streamed_sample_is_uniform_bounded_and_in_file_order(tmp_path, counts, suffix):
    path = tmp_path / f"counts{suffix}"
    write_table(counts, path)
    sample, rows = sample_table(path, 500, seed=3, chunk_rows=256)
    assert rows == 5000 and len(sample) == 500
    assert sample["row"].is_monotonic_increasing and sample["row"].is_unique
    assert sample["code"].tolist()[:5] == counts.set_index("row").loc[sample["row"][:5], "code"
                                                                     ].tolist()
    # uniform: each tenth of the file holds about a tenth of the sample
    per_tenth = np.bincount(sample["row"].to_numpy() // 500, minlength=10)
    assert per_tenth.min() > 25 and per_tenth.max() < 80
    again, _ = sample_table(path, 500, seed=3, chunk_rows=256)
    pd.testing.assert_frame_equal(sample, again)
    other, _ = sample_table(path, 500, seed=4, chunk_rows=256)
    assert not other["row"].equals(sample["row"])


def test_a_streamed_csv_sample_keeps_the_dialect_and_leading_zeros(tmp_path, counts):
    path = tmp_path / "counts.csv"
    path.write_text(counts.to_csv(index=False, sep=";", decimal=","))
    sample, _ = sample_table(path, 100, seed=0, chunk_rows=64)
    assert sample.attrs["csv"]["delimiter"] == ";" and sample.attrs["csv"]["decimal"] == ","
    assert set(sample["code"]) <= {"01", "02", "10"} and sample["value"].dtype == float


def test_a_table_within_the_bound_is_read_whole(tmp_path, counts):
    path = tmp_path / "counts.parquet"
    write_table(counts, path)
    sample, rows = sample_table(path, 5000, seed=0)
    pd.testing.assert_frame_equal(sample, counts)
    assert rows == 5000


def test_a_folder_of_parquet_parts_is_one_table(tmp_path, counts):
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, part in enumerate(np.array_split(counts, 3)):
        write_table(part, folder / f"part-{i:05d}.parquet")
    (folder / "_SUCCESS").write_text("")  # what Spark leaves beside its parts
    assert adapter_type(folder) is TabularAdapter
    assert count_rows(folder) == 5000
    pd.testing.assert_frame_equal(read_table(folder), counts)
    sample, rows = sample_table(folder, 300, seed=0, chunk_rows=128)
    assert rows == 5000 and len(sample) == 300


def test_a_folder_without_parquet_files_is_refused_in_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="without Parquet files|holds no images"):
        TabularAdapter.read(tmp_path)


def test_a_dataframe_larger_than_the_bound_is_sampled(counts):
    table = TabularAdapter.read(counts, max_rows=200, random_state=1)
    assert len(table) == 200 and table.attrs["rows_read"] == 5000
    assert table["row"].is_monotonic_increasing
    assert "rows_read" not in counts.attrs  # the caller's frame is untouched


@pytest.fixture
def small_bound(tmp_path: Path) -> Path:
    """A preset that learns from at most 150 rows."""
    preset = tmp_path / "bounded.yaml"
    preset.write_text("steps: 20\nmin_epochs: 1\nhidden_dims: [32]\nlatent_dim: 4\n"
                      "prior_components: 2\nmax_training_rows: 150\n")
    return preset


def test_a_synthesizer_learns_a_big_file_from_a_bounded_sample(patients_csv, small_bound):
    model = Synthesizer(config=small_bound, epochs=2, random_state=0).fit(patients_csv)
    assert model.n_rows_ == 150 and model.n_rows_seen_ == 418
    assert model.sample(20).shape == (20, 20)


def test_a_detector_learns_a_big_file_from_a_bounded_sample(patients_csv, small_bound):
    detector = AnomalyDetector(config=small_bound, epochs=2, random_state=0).fit(patients_csv)
    assert detector.model_.n_rows_ == 150 and len(detector.decision_scores_) == 150
    assert len(detector.decision_function(read_table(patients_csv))) == 418


def test_rows_seen_survive_a_model_file(tmp_path, patients_csv, small_bound):
    model = Synthesizer(config=small_bound, epochs=1, random_state=0).fit(patients_csv)
    model.save(tmp_path / "m.model")
    assert Synthesizer.load(tmp_path / "m.model").n_rows_seen_ == 418


def test_a_small_table_is_learnt_whole(patients):
    model = Synthesizer(**FAST, random_state=0).fit(patients)
    assert model.n_rows_ == model.n_rows_seen_ == 418


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory, _patients_frame) -> Path:
    path = tmp_path_factory.mktemp("model") / "patients.tkm"
    Synthesizer(**FAST, random_state=0).fit(_patients_frame).save(path)
    return path


def test_chunks_continue_one_sequence_and_number_ids_across_chunks(saved_model):
    model = Synthesizer.load(saved_model)
    chunks = list(model.sample_chunks(250, chunk_rows=100, random_state=5))
    assert [len(chunk) for chunk in chunks] == [100, 100, 50]
    again = Synthesizer.load(saved_model)
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True),
                                  pd.concat(again.sample_chunks(250, 100, random_state=5),
                                            ignore_index=True))
    one = Synthesizer.load(saved_model)
    pd.testing.assert_frame_equal(next(one.sample_chunks(80, 100, random_state=5)),
                                  Synthesizer.load(saved_model).sample(80, random_state=5))
    with pytest.raises(UsageError, match="chunk_rows must be a positive integer"):
        next(model.sample_chunks(10, chunk_rows=0))


@pytest.mark.parametrize("out", ["synthetic.csv", "synthetic.parquet", "synthetic"])
def test_sample_streams_chunks_to_a_file_or_a_folder_of_parts(tmp_path, saved_model, monkeypatch,
                                                               out):
    from click.testing import CliRunner

    import toolkit.cli.synthesis as synthesis
    from toolkit.cli import cli

    monkeypatch.setattr(synthesis, "CLI_CHUNK_ROWS", 100)
    target = tmp_path / out
    result = CliRunner().invoke(cli, ["sample", str(saved_model), "--rows", "250", "--out",
                                      str(target), "--seed", "3", "--quiet"])
    assert result.exit_code == 0, result.output
    table = read_table(target)
    assert table.shape == (250, 20)
    if not target.suffix:
        assert sorted(p.name for p in target.iterdir()) == [
            "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert [p.name for p in tmp_path.iterdir()] == [out]  # no staging left behind


def test_a_folder_holding_other_files_is_refused_before_sampling(tmp_path, saved_model):
    from click.testing import CliRunner

    from toolkit.cli import cli

    (tmp_path / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(cli, ["sample", str(saved_model), "--rows", "10", "--out",
                                      str(tmp_path)])
    assert result.exit_code != 0 and "other files than Parquet parts" in result.output
    assert (tmp_path / "notes.txt").read_text() == "keep me"


@pytest.fixture
def rare_rows(tmp_path: Path) -> Path:
    """2,000 rows whose last 10 hold a level and missing values nowhere else."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"ward": rng.choice(["A", "B", "C"], 2000),
                          "dose": rng.normal(5, 1, 2000).round(2),
                          "age": rng.integers(20, 90, 2000)})
    table.loc[1990:, "ward"] = "Z"
    table.loc[1995:, "dose"] = np.nan
    table.loc[1999, "age"] = 130
    path = tmp_path / "rare.parquet"
    write_table(table, path)
    return path


def test_a_sampled_fit_still_knows_every_level_missing_value_and_range(rare_rows, small_bound):
    detector = AnomalyDetector(config=small_bound, epochs=2, random_state=0).fit(rare_rows)
    assert detector.model_.n_rows_ == 150
    table = read_table(rare_rows)
    scores = detector.decision_function(table)  # no "never seen in training" error
    assert len(scores) == 2000 and np.isfinite(scores).all()
    encoders = {e.name: e for e in detector.model_.adapter_.encoders_}
    assert "Z" in encoders["ward"].slots_ + encoders["ward"].other_levels_
    assert encoders["dose"].has_missing_
    assert encoders["age"].max_ == 130


def test_statistics_merge_over_chunks_like_the_whole_table(rare_rows):
    from toolkit.adapters.statistics import ColumnStatistics

    table = read_table(rare_rows)
    merged = ColumnStatistics()
    for chunk in np.array_split(table, 7):
        merged.merge(ColumnStatistics.of(chunk))
    whole = ColumnStatistics.of(table)
    assert (merged.rows, merged.missing, merged.ranges) == (whole.rows, whole.missing,
                                                            whole.ranges)
    assert merged.levels["ward"] == whole.levels["ward"]
