"""Commands that measure synthetic data: ``report`` and ``compare``."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.cli.app import cli
from toolkit.cli.common import (
    GATES,
    SEED,
    QualityBar,
    check_output,
    progress_line,
    quiet_warnings,
    say,
)

#: rows of each table ``report`` measures at most (toolkit.evaluate.report.MAX_ROWS, repeated
#: here so that the help is shown without importing the report; tests/test_report_subsample.py
#: checks that the two agree)
MAX_ROWS = 50_000


@cli.command()
@click.argument("real", type=click.Path(path_type=Path))
@click.argument("synthetic", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="The report to write (.html, self-contained).")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Also write the measurements as JSON.")
@click.option("--holdout", type=click.Path(path_type=Path), default=None,
              help="Real rows the model never saw (needed for the privacy section).")
@click.option("--target", default=None, help="Column to predict in the utility section.")
@click.option("--metadata", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML file of column kinds that override inference.")
@click.option("--fail-under", "fail_under", type=QualityBar(), multiple=True,
              help="Exit with 1 when the overall quality is below Q (the report is written); "
                   "METRIC=Q gates on another measurement instead, higher being better: "
                   f"{', '.join(GATES)} (detection: 1 - 2 x (AUROC - 0.5)). Repeatable.")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Seed of the samples, splits and models.")
@click.option("--max-rows", type=click.IntRange(min=1), default=MAX_ROWS, show_default=True,
              help="Rows of each table (REAL, SYNTHETIC, --holdout) measured at most: a larger "
                   "table is measured on a uniform random sample of this many rows, drawn "
                   "with --seed while the file is read (memory stays bounded); the report "
                   "states the sample.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def report(real: Path, synthetic: Path, out: Path, json_out: Path | None, holdout: Path | None,
           target: str | None, metadata: Path | None,
           fail_under: tuple[tuple[str, float], ...], seed: int,
           max_rows: int, quiet: bool) -> None:
    """Measure how faithful, useful and private SYNTHETIC is against REAL.

    Tables of millions of rows are measured on a seeded uniform sample of at most
    --max-rows rows each (50,000 by default, a couple of minutes at most), read in one
    streamed pass; the page, the JSON and the summary line state how many rows were
    measured of how many.
    """
    from toolkit.evaluate.page import leaks_text, sample_text
    from toolkit.evaluate.report import evaluate
    from toolkit.exceptions import DataError
    from toolkit.io.tables import check_distinct

    quiet_warnings(quiet)
    check_distinct({"REAL": real, "SYNTHETIC": synthetic, "--holdout": holdout,
                    "--metadata": metadata}, {"--out": out, "--json": json_out})
    check_output(out, (".html",), "--out")
    if json_out is not None:
        check_output(json_out, (".json",), "--json")
    result = evaluate(real, synthetic, holdout=holdout, target=target, metadata=metadata,
                      random_state=seed, progress=None if quiet else progress_line,
                      max_rows=max_rows)
    result.to_html(out)
    if json_out is not None:
        result.to_json(json_out)
    summary = result.summary
    quality = "not measured" if summary["quality"] is None else f"{summary['quality']:.3f}"
    say(quiet, f"fidelity {summary['fidelity']} (quality {quality}), utility "
               f"{summary['utility']}, privacy {summary['privacy']}{leaks_text(summary)}"
               f"{sample_text(summary)}; "
               f"wrote {out} in {summary['seconds']:.1f}s")
    failed = [(metric, bar, summary.get(GATES[metric])) for metric, bar in fail_under
              if (summary.get(GATES[metric]) or 0.0) < bar]
    if failed:
        raise DataError("; ".join(
            f"{'overall quality' if metric == 'quality' else metric} "
            f"{'not measured' if value is None else f'{value:.3f}'} is below --fail-under "
            f"{'' if metric == 'quality' else metric + '='}{bar}"
            for metric, bar, value in failed))


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--backends", default="vae,gan,vaegan", show_default=True,
              help="Comma-separated backends to train on the same split.")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="The comparison page to write (.html, self-contained).")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Also write the measurements as JSON.")
@click.option("--target", default=None, help="Column for the utility comparison.")
@click.option("--holdout-frac", type=click.FloatRange(0.0, 0.9, min_open=True), default=0.2,
              show_default=True, help="Share of DATA's rows kept out of training.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Override every preset's training length.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of split and models.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def compare(data: Path, backends: str, out: Path, json_out: Path | None, target: str | None,
            holdout_frac: float, epochs: int | None, seed: int, quiet: bool) -> None:
    """Train each backend on the same split of DATA and compare them side by side."""
    from toolkit.evaluate import compare as comparison
    from toolkit.io.tables import check_distinct, read_table

    quiet_warnings(quiet)
    check_distinct({"DATA": data}, {"--out": out, "--json": json_out})
    check_output(out, (".html",), "--out")
    if json_out is not None:
        check_output(json_out, (".json",), "--json")
    names = [name.strip() for name in backends.split(",") if name.strip()]
    result = comparison.compare(read_table(data), names, target=target,
                                holdout_frac=holdout_frac, epochs=epochs, random_state=seed)
    comparison.write_html(result, out)
    if json_out is not None:
        comparison.write_json(result, json_out)
    for row in comparison.table_rows(result):
        if row["diverged"]:
            say(quiet, f"{row['backend']}: training diverged")
        else:
            detection = ("not measured" if row["detection_auroc"] is None
                         else f"{row['detection_auroc']:.3f}")
            say(quiet, f"{row['backend']}: quality {row['quality']:.3f}, detection AUROC "
                       f"{detection}, fit "
                       f"{row['fit_seconds']:.1f}s, {row['sample_rows_per_s']:,.0f} rows/s")
    say(quiet, f"wrote {out}")
