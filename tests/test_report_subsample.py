"""The report on big tables: a documented, seeded uniform subsample of each table
(``evaluate(max_rows=...)``, ``toolkit report --max-rows``), stated wherever the report speaks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from toolkit.cli import cli
from toolkit.cli import reports as report_command
from toolkit.evaluate.report import MAX_ROWS, bounded_sample, evaluate
from toolkit.exceptions import UsageError
from toolkit.io import sample_table


def table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n).round(3), "k": rng.integers(0, 50, n),
                         "group": rng.choice(["a", "b", "c"], n), "row": np.arange(n)})


def test_the_cli_default_is_the_library_default():
    assert report_command.MAX_ROWS == MAX_ROWS == 50_000


def test_a_small_table_is_kept_whole():
    data = table(30)
    sample, rows = bounded_sample(data, 30, seed=0)
    assert rows == 30 and sample is data


def test_the_sample_is_uniform_seeded_and_in_row_order():
    data = table(1000)
    first, rows = bounded_sample(data, 100, seed=3)
    again, _ = bounded_sample(data, 100, seed=3)
    other, _ = bounded_sample(data, 100, seed=4)
    assert rows == 1000 and len(first) == 100
    assert first["row"].is_monotonic_increasing and first.equals(again)
    assert not first.equals(other)
    # uniform: over many seeds every row is drawn about max_rows / n of the time
    drawn = np.concatenate([bounded_sample(data, 100, seed=s)[0]["row"] for s in range(200)])
    counts = np.bincount(drawn, minlength=1000)
    assert abs(counts.mean() - 20) < 1e-9 and counts.std() < 8


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_gives_the_rows_of_the_table_read_whole(tmp_path, suffix):
    data = table(3000)
    path = tmp_path / f"t{suffix}"
    data.to_csv(path, index=False) if suffix == ".csv" else data.to_parquet(path, index=False)
    streamed, rows = bounded_sample(path, 500, seed=7)
    whole, _ = bounded_sample(data, 500, seed=7)
    assert rows == 3000
    assert streamed["row"].tolist() == whole["row"].tolist()
    assert streamed["row"].tolist() == sample_table(path, 500, seed=7)[0]["row"].tolist()


def test_evaluate_states_the_sample_in_summary_notes_and_page(tmp_path):
    real, synthetic = table(900, seed=0), table(700, seed=1)
    result = evaluate(real, synthetic, max_rows=400)
    summary = result.summary
    assert (summary["real_rows"], summary["real_rows_measured"]) == (900, 400)
    assert (summary["synthetic_rows"], summary["synthetic_rows_measured"]) == (700, 400)
    assert summary["max_rows"] == 400
    note = next(n for n in result.notes if n.startswith("measured on a seeded uniform sample"))
    assert "400 of the 900 real rows" in note and "400 of the 700 synthetic rows" in note
    result.to_html(tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert "measured on a seeded uniform sample of 400 real rows and 400 synthetic rows" in page
    assert json.loads(json.dumps(result.to_dict()["summary"]))["real_rows_measured"] == 400


def test_evaluate_says_nothing_of_a_sample_when_every_row_was_measured():
    result = evaluate(table(200, 0), table(150, 1))
    assert result.summary["real_rows_measured"] == 200
    assert not any(n.startswith("measured on a seeded") for n in result.notes)


def test_max_rows_none_measures_every_row():
    result = evaluate(table(300, 0), table(300, 1), max_rows=None)
    assert result.summary["real_rows_measured"] == result.summary["real_rows"] == 300


@pytest.mark.parametrize("bad", [0, -5, 2.5, True, "10"])
def test_a_bad_max_rows_is_a_usage_error(bad):
    with pytest.raises(UsageError, match="max_rows"):
        evaluate(table(50), table(50), max_rows=bad)


def test_evaluate_reads_files_as_samples(tmp_path):
    real, synthetic = tmp_path / "real.parquet", tmp_path / "synthetic.csv"
    table(2000, 0).to_parquet(real, index=False)
    table(1500, 1).to_csv(synthetic, index=False)
    result = evaluate(real, synthetic, max_rows=300)
    assert result.summary["real_rows"] == 2000 and result.summary["synthetic_rows"] == 1500
    assert result.summary["real_rows_measured"] == result.summary["synthetic_rows_measured"] == 300


def test_utility_handles_a_feature_with_more_levels_than_gradient_boosting_bins():
    rng = np.random.default_rng(0)
    n = 1200
    data = pd.DataFrame({"tail": [f"N{i}" for i in rng.integers(0, 400, n)],
                         "carrier": rng.choice(["AA", "UA", "B6"], n),
                         "delay": rng.normal(size=n)})
    result = evaluate(data, data.sample(frac=1.0, random_state=0), target="carrier")
    assert result.utility["train_real"] is not None


def test_cli_report_max_rows(tmp_path):
    table(1200, 0).to_csv(tmp_path / "real.csv", index=False)
    table(1000, 1).to_parquet(tmp_path / "synthetic.parquet", index=False)
    page, measurements = tmp_path / "r.html", tmp_path / "r.json"
    result = CliRunner().invoke(cli, [
        "report", str(tmp_path / "real.csv"), str(tmp_path / "synthetic.parquet"),
        "--out", str(page), "--json", str(measurements), "--max-rows", "500"])
    assert result.exit_code == 0, result.output
    assert "measured on a seeded uniform sample of 500 real rows and 500 synthetic rows " \
           "(at most 500 per table)" in result.output
    summary = json.loads(measurements.read_text())["summary"]
    assert (summary["real_rows"], summary["real_rows_measured"]) == (1200, 500)
    assert "seeded uniform sample" in page.read_text()


def test_cli_report_refuses_a_bad_max_rows(tmp_path):
    table(100).to_csv(tmp_path / "real.csv", index=False)
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "real.csv"),
                                      str(tmp_path / "real.csv"), "--out",
                                      str(tmp_path / "r.html"), "--max-rows", "0"])
    assert result.exit_code == 2
    assert not (tmp_path / "r.html").exists()


def test_the_help_documents_the_sample():
    text = CliRunner().invoke(cli, ["report", "--help"]).output
    assert "--max-rows" in text and "uniform random sample" in text and "50000" in text


def dense_nearest(encoder, reference: pd.DataFrame, queries: pd.DataFrame) -> np.ndarray:
    """The distances as the report measured them before: one-hot blocks of weight ½ (and
    numbers with missing flags) compared column by column."""
    def dense(table: pd.DataFrame) -> np.ndarray:
        parts = []
        for column, kind in encoder.kinds.items():
            if column in encoder.ranges:
                low, span = encoder.ranges[column]
                values = (encoder._numbers(table[column], kind) - low) / span
                missing = np.isnan(values)
                parts += [np.where(missing, 0.0, np.clip(values, -1.0, 2.0)), missing * 1.0]
            else:
                values = table[column].astype(str).where(table[column].notna(), "<NA>")
                parts += [(values == level).to_numpy() * 0.5
                          for level in [*encoder.levels[column], "<NA>"]]
        return np.column_stack(parts)

    a, b = dense(reference), dense(queries)
    return np.abs(b[:, None, :] - a[None, :, :]).sum(axis=2).min(axis=1)


def test_privacy_distances_equal_the_one_hot_l1_distances():
    from toolkit.evaluate.report import RowEncoder, _nearest, column_kinds

    rng = np.random.default_rng(0)
    n = 300
    real = pd.DataFrame({"x": rng.normal(size=n), "k": rng.integers(0, 9, n).astype(float),
                         "tail": rng.choice([f"N{i}" for i in range(40)], n),
                         "group": rng.choice(["a", "b", None], n)})
    real.loc[rng.random(n) < 0.1, "x"] = np.nan
    queries = pd.concat([real.sample(50, random_state=1).assign(x=lambda t: t.x + 0.1),
                         real.head(20).assign(tail="never seen")], ignore_index=True)
    encoder = RowEncoder(real, column_kinds(real, None))
    expected = dense_nearest(encoder, real, queries)
    assert np.allclose(_nearest(encoder.transform(real), encoder.transform(queries)), expected,
                       rtol=0, atol=1e-12)
    unseen = encoder.transform(queries.tail(20))  # unseen levels among themselves: distance 0
    assert np.allclose(_nearest(unseen, unseen), 0.0)
