"""The ``toolkit`` command line: thin click commands over the library.

Errors raised on purpose (:class:`~toolkit.exceptions.ToolkitError`) are turned
into one ``Error: ...`` line on stderr and an exit code (2 for usage, 1 for
data and model files) in one place, :class:`ToolkitGroup`.
"""

from __future__ import annotations

import json
import signal
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

import toolkit
from toolkit.csvfiles import Dialect
from toolkit.exceptions import (
    DataError,
    InferenceWarning,
    ModelFileError,
    ToolkitError,
    UsageError,
)
from toolkit.io import TABLE_SUFFIXES, check_distinct, check_writable, read_table, write_table

#: seeds are integers in [0, 2**32 - 1] (numpy's and scikit-learn's range)
SEED = click.IntRange(0, 2**32 - 1)


def _show_warning(message: Warning | str, category: type[Warning], *args: Any,
                  **kwargs: Any) -> None:
    """Print a toolkit warning as one ``Warning:`` line on stderr."""
    click.echo(f"Warning: {' '.join(str(message).split())}", err=True)


class ToolkitGroup(click.Group):
    """A click group that reports toolkit errors as one line and an exit code."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the CLI, printing click's usage errors as one line too."""
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.ClickException as error:
            context = getattr(error, "ctx", None)
            hint = f" (see '{context.command_path} --help')" if context else ""
            click.echo(f"Error: {error.format_message()}{hint}", err=True)
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with warnings.catch_warnings():
                # what the toolkit guessed is the user's business; libraries' chatter is not
                warnings.simplefilter("ignore")
                warnings.simplefilter("always", InferenceWarning)
                warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except ToolkitError as error:
            message = " ".join(str(error).split("\n"))
            click.echo(f"Error: {message}", err=True)
            sys.exit(error.exit_code)


def _say(ctx_quiet: bool, message: str) -> None:
    if not ctx_quiet:
        click.echo(message, err=True)


def _quiet(quiet: bool) -> None:
    """With --quiet, warnings are not printed either."""
    if quiet:
        warnings.simplefilter("ignore", InferenceWarning)


def _seed(seed: int | None, quiet: bool) -> int:
    """``seed``, or a fresh one (printed, so that the run can be repeated)."""
    if seed is None:
        from toolkit.estimators import fresh_seed

        seed = fresh_seed()
        _say(quiet, f"seed {seed} (pass --seed {seed} to repeat this run)")
    return seed


def _check_output(path: Path, suffixes: tuple[str, ...], what: str) -> None:
    """Fail before any work when an output path cannot be written."""
    if path.suffix.lower() not in suffixes:
        raise UsageError(f"{what} {path} must end in {', '.join(suffixes)}")
    check_writable(path, what)


def parse_conditions(pairs: tuple[str, ...]) -> dict[str, str] | None:
    """Turn ``("sex=F", "stage=3")`` into ``{"sex": "F", "stage": "3"}``."""
    conditions = {}
    for pair in pairs:
        column, sep, value = pair.partition("=")
        if not sep or not column:
            raise UsageError(f"--condition {pair!r} must look like COLUMN=VALUE")
        conditions[column] = value
    return conditions or None


condition_option = click.option(
    "--condition", "conditions", multiple=True, metavar="COLUMN=VALUE",
    help="Generate only rows with this value (repeatable); categories are generated directly.",
)


def _show_progress(quiet: bool, progress: bool) -> bool:
    return progress or (not quiet and sys.stderr.isatty())


def training_options(command: Callable) -> Callable:
    """Options shared by the commands that train a model."""
    options = [
        click.option("--config", "config", default=None,
                     help="Preset name from configs/ (default, fast, vae, gan, vaegan, detect) "
                          "or a YAML file [default: 'default'; 'detect' for detection]."),
        click.option("--backend", type=click.Choice(["vae", "gan", "vaegan"]), default=None,
                     help="Generative model (default: the preset's)."),
        click.option("--epochs", type=click.IntRange(min=1), default=None,
                     help="Training epochs (default: the preset's step budget)."),
        click.option("--batch-size", type=click.IntRange(min=1), default=None,
                     help="Rows per optimizer step."),
        click.option("--metadata", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="YAML file of column kinds that override inference."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
                     help="Where to train (auto: CUDA when present)."),
        click.option("--seed", type=SEED, default=None,
                     help="Random seed: same seed, same output (bit-identical on CPU) "
                          "[default: a fresh one, printed]."),
        click.option("--progress", is_flag=True, help="Show progress even when not a terminal."),
        click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def privacy_options(command: Callable) -> Callable:
    """Differential-privacy options of the commands that train a synthesizer."""
    options = [
        click.option("--epsilon", type=float, default=None,
                     help="Train with (epsilon, delta)-differential privacy (tables, vae "
                          "backend); --metadata must give every column's kind and min/max or "
                          "values."),
        click.option("--delta", type=float, default=None,
                     help="Delta of the guarantee [default: 1/n^1.1 for n rows]."),
        click.option("--max-grad-norm", type=float, default=1.0, show_default=True,
                     help="Per-row gradient clipping bound of DP-SGD."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _privacy_params(options: dict[str, Any]) -> dict[str, Any]:
    """The privacy options as Synthesizer parameters, refusing --delta/--max-grad-norm alone."""
    if options.get("epsilon") is None:
        if options.get("delta") is not None:
            raise UsageError("--delta needs --epsilon")
        return {}
    return {"epsilon": options["epsilon"], "delta": options["delta"],
            "max_grad_norm": options["max_grad_norm"]}


def _training_params(options: dict[str, Any], default_config: str) -> dict[str, Any]:
    return dict(
        backend=options["backend"], config=options["config"] or default_config,
        epochs=options["epochs"], batch_size=options["batch_size"],
        metadata=options["metadata"], device=options["device"], random_state=options["seed"],
        verbose=_show_progress(options["quiet"], options["progress"]),
    )


def _fit_synthesizer(data_path: Path, options: dict[str, Any],
                     table: Any = None) -> Any:
    from toolkit.estimators import Synthesizer

    synthesizer = Synthesizer(**_training_params(options, "default"), **_privacy_params(options))
    config = synthesizer._resolve_config()  # a bad preset or option fails before any work
    if data_path.is_dir():
        from adapters.imaging import read_image_folder

        data = read_image_folder(data_path)
        synthesizer.set_params(random_state=_seed(options["seed"], options["quiet"]))
        n, height, width, channels = data.images.shape
        _say(options["quiet"], f"training a {config.backend} on {n} images ({channels}x{height}x"
                               f"{width}{', labelled' if data.labels else ''}) of {data_path}"
                               + (f"; {data.resized} resized" if data.resized else ""))
        synthesizer.fit(data)
        _say(options["quiet"], f"trained in {synthesizer.fit_seconds_:.1f}s "
                               f"({synthesizer.n_epochs_} epochs)")
        return synthesizer, data
    data = read_table(data_path) if table is None else table
    synthesizer.set_params(random_state=_seed(options["seed"], options["quiet"]))
    _say(options["quiet"], f"training a {config.backend} on {len(data)} rows x "
                           f"{data.shape[1]} columns of {data_path}")
    synthesizer.fit(data)
    _say(options["quiet"], f"trained in {synthesizer.fit_seconds_:.1f}s "
                           f"({synthesizer.n_epochs_} epochs)")
    if synthesizer.privacy_:
        from toolkit.report import guarantee_text

        _say(options["quiet"], "guarantee: " + guarantee_text(synthesizer.privacy_))
    return synthesizer, data


def _fit_detector(data_path: Path, options: dict[str, Any], score: str,
                  contamination: float) -> Any:
    from toolkit.detector import AnomalyDetector

    detector = AnomalyDetector(score=score, contamination=contamination,
                               **_training_params(options, "detect"))
    detector._check_params()
    config = detector.model_config()  # a bad preset or option fails before any work
    data = _read_records(data_path)
    detector.set_params(random_state=_seed(options["seed"], options["quiet"]))
    size = (f"{len(data.images)} images" if hasattr(data, "images")
            else f"{len(data)} rows x {data.shape[1]} columns")
    _say(options["quiet"], f"training a {config.backend} detector on {size} of {data_path}")
    detector.fit(data)
    _say(options["quiet"], f"trained in {detector.model_.fit_seconds_:.1f}s "
                           f"({detector.model_.n_epochs_} epochs)")
    return detector


@click.group(cls=ToolkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(toolkit.__version__, prog_name="toolkit")
def cli() -> None:
    """Learn the latent structure of a table (or images): generate synthetic records, score
    anomalies, and report on quality and privacy."""


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Synthetic table to write (.csv or .parquet).")
@click.option("--rows", type=click.IntRange(min=1), default=None,
              help="Rows to generate [default: as many as the training rows].")
@click.option("--model-out", type=click.Path(path_type=Path), default=None,
              help="Also save the trained model here (.tkm).")
@click.option("--report", "report_out", type=click.Path(path_type=Path), default=None,
              help="Also write a quality and privacy report (.html); keeps a holdout out of "
                   "training to measure privacy.")
@click.option("--holdout-frac", type=click.FloatRange(0.0, 0.9, min_open=True), default=0.2,
              show_default=True, help="With --report: share of DATA's rows kept out of training.")
@click.option("--holdout-out", type=click.Path(path_type=Path), default=None,
              help="With --report: also write the held-out real rows here (.csv/.parquet).")
@click.option("--target", default=None, help="With --report: column for the utility section.")
@click.option("--grid", type=click.Path(path_type=Path), default=None,
              help="Images: also write the generated images tiled into one PNG.")
@condition_option
@training_options
@privacy_options
def synth(data: Path, out: Path, rows: int | None, model_out: Path | None,
          report_out: Path | None, holdout_frac: float, holdout_out: Path | None,
          target: str | None, grid: Path | None, conditions: tuple[str, ...],
          **options: Any) -> None:
    """Train on DATA (CSV or Parquet, or a folder of images) and write a synthetic copy
    to --out (a table, or a folder of PNG files for images)."""
    _quiet(options["quiet"])
    wanted = parse_conditions(conditions)
    check_distinct(_inputs(data, options),
                   {"--out": out, "--model-out": model_out, "--report": report_out,
                    "--holdout-out": holdout_out, "--grid": grid})
    if holdout_out is not None and report_out is None:
        raise UsageError("--holdout-out needs --report (the holdout is kept out for the report)")
    if data.is_dir():
        _synth_images(data, out, rows, model_out, grid, wanted, report_out, options)
        return
    _check_output(out, TABLE_SUFFIXES, "--out")
    if model_out is not None:
        _check_output(model_out, (".tkm",), "--model-out")
    if report_out is not None:
        _check_output(report_out, (".html",), "--report")
    if holdout_out is not None:
        _check_output(holdout_out, TABLE_SUFFIXES, "--holdout-out")
    from toolkit.estimators import Synthesizer

    Synthesizer(**_training_params(options, "default"), **_privacy_params(options)
                )._resolve_config()  # a bad preset or option fails before any work
    real = read_table(data)
    options["seed"] = _seed(options["seed"], options["quiet"])
    holdout = None
    if report_out is not None:
        if target is not None and target not in real.columns:
            raise DataError(f"--target {target!r} is not a column of {data}")
        holdout = real.sample(frac=holdout_frac, random_state=options["seed"])
        if len(holdout) == 0 or len(real) - len(holdout) < 2:
            raise DataError(f"--holdout-frac {holdout_frac} leaves no rows to hold out or fewer "
                            f"than 2 to train on in {len(real)} rows")
        real = real.drop(index=holdout.index)
        _say(options["quiet"], f"holding out {len(holdout)} of {len(real) + len(holdout)} rows "
                               "(--holdout-frac) from training to measure privacy in the report"
                               + (f"; they are written to {holdout_out}" if holdout_out else
                                  "; save them with --holdout-out"))
    synthesizer, real = _fit_synthesizer(data, options, table=real)
    synthetic = synthesizer.sample(rows or len(real), conditions=wanted)
    result = None
    if report_out is not None:
        from toolkit.report import evaluate

        result = evaluate(real, synthetic, holdout=holdout, target=target,
                          metadata=options["metadata"], random_state=options["seed"],
                          guarantee=synthesizer.privacy_,
                          progress=None if options["quiet"] else _progress_line)
    dialect = Dialect.of(real)
    write_table(synthetic, out, dialect)
    if model_out is not None:
        synthesizer.save(model_out)
    _say(options["quiet"], f"wrote {len(synthetic)} synthetic rows to {out}")
    if holdout_out is not None:
        write_table(holdout, holdout_out, dialect)
    if result is not None:
        result.to_html(report_out)
        _say(options["quiet"], f"wrote the report to {report_out} in "
                               f"{result.summary['seconds']:.1f}s: "
                               f"fidelity {result.summary['fidelity']}, "
                               f"utility {result.summary['utility']}, "
                               f"privacy {result.summary['privacy']}")


def _save_png(image: Any, path: Path) -> None:
    """Save a Pillow image as PNG atomically."""
    from toolkit.io import atomic_write

    with atomic_write(path) as temporary:
        image.save(temporary, format="PNG")


def _progress_line(message: str) -> None:
    """Report progress on stderr, one line per stage."""
    click.echo(f"  {message}", err=True)


def _inputs(data: Path | None, options: dict[str, Any], **more: Path | None
            ) -> dict[str, Path | None]:
    """The input files of a command (DATA, --metadata, --config files, more) for
    :func:`~toolkit.io.check_distinct`."""
    config = options.get("config")
    config_file = Path(config) if config and Path(config).suffix in (".yaml", ".yml") else None
    return {"DATA": data, "--metadata": options.get("metadata"), "--config": config_file,
            **more}


def _synth_images(data: Path, out: Path, rows: int | None, model_out: Path | None,
                  grid: Path | None, wanted: dict[str, str] | None, report_out: Path | None,
                  options: dict[str, Any]) -> None:
    """``synth`` for a folder of images: PNG files into the folder ``out``."""
    from adapters.imaging import image_grid, write_image_folder

    if report_out is not None:
        raise UsageError("--report works on tables; image reports are not supported yet")
    if out.suffix:
        raise UsageError(f"--out {out} must be a folder for images (no file extension)")
    _check_output(out.with_suffix(".png"), (".png",), "--out")  # its parent folder exists
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out folder {out} is not empty")
    if grid is not None:
        _check_output(grid, (".png",), "--grid")
    if model_out is not None:
        _check_output(model_out, (".tkm",), "--model-out")
    synthesizer, real = _fit_synthesizer(data, options)
    images = synthesizer.sample(rows or len(real.images), conditions=wanted)
    write_image_folder(images, out)
    if grid is not None:
        _save_png(image_grid(images.images[:64], columns=8, scale=4), grid)
    if model_out is not None:
        synthesizer.save(model_out)
    _say(options["quiet"], f"wrote {len(images.images)} synthetic images to {out}/")


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
@click.option("--fail-under", type=click.FloatRange(0.0, 1.0), default=None,
              help="Exit with 1 when the overall quality is below this (the report is written).")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Seed of the samples, splits and models.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def report(real: Path, synthetic: Path, out: Path, json_out: Path | None, holdout: Path | None,
           target: str | None, metadata: Path | None, fail_under: float | None, seed: int,
           quiet: bool) -> None:
    """Measure how faithful, useful and private SYNTHETIC is against REAL."""
    from toolkit.report import evaluate

    _quiet(quiet)
    check_distinct({"REAL": real, "SYNTHETIC": synthetic, "--holdout": holdout,
                    "--metadata": metadata}, {"--out": out, "--json": json_out})
    _check_output(out, (".html",), "--out")
    if json_out is not None:
        _check_output(json_out, (".json",), "--json")
    result = evaluate(read_table(real), read_table(synthetic),
                      holdout=None if holdout is None else read_table(holdout), target=target,
                      metadata=metadata, random_state=seed,
                      progress=None if quiet else _progress_line)
    result.to_html(out)
    if json_out is not None:
        result.to_json(json_out)
    summary = result.summary
    quality = "not measured" if summary["quality"] is None else f"{summary['quality']:.3f}"
    _say(quiet, f"fidelity {summary['fidelity']} (quality {quality}), utility "
                f"{summary['utility']}, privacy {summary['privacy']}; wrote {out} in "
                f"{summary['seconds']:.1f}s")
    if fail_under is not None and (summary["quality"] or 0.0) < fail_under:
        raise DataError(f"overall quality {summary['quality']:.3f} is below --fail-under "
                        f"{fail_under}")


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
    from toolkit import compare as comparison

    _quiet(quiet)
    check_distinct({"DATA": data}, {"--out": out, "--json": json_out})
    _check_output(out, (".html",), "--out")
    if json_out is not None:
        _check_output(json_out, (".json",), "--json")
    names = [name.strip() for name in backends.split(",") if name.strip()]
    result = comparison.compare(read_table(data), names, target=target,
                                holdout_frac=holdout_frac, epochs=epochs, random_state=seed)
    comparison.write_html(result, out)
    if json_out is not None:
        comparison.write_json(result, json_out)
    for row in comparison.table_rows(result):
        if row["diverged"]:
            _say(quiet, f"{row['backend']}: training diverged")
        else:
            _say(quiet, f"{row['backend']}: quality {row['quality']:.3f}, fit "
                        f"{row['fit_seconds']:.1f}s, {row['sample_rows_per_s']:,.0f} rows/s")
    _say(quiet, f"wrote {out}")


def score_option(default: str | None) -> Callable:
    """The ``--score`` option (which anomaly score)."""
    return click.option(
        "--score", type=click.Choice(["combined", "reconstruction", "latent"]), default=default,
        show_default=default is not None,
        help="Anomaly score: negative ELBO (combined), reconstruction or latent NLL"
             + ("" if default is not None else " [default: the model's; combined with --fit-on]")
             + ".")


def contamination_option(default: float | None) -> Callable:
    """The ``--contamination`` option (expected outlier share)."""
    return click.option(
        "--contamination", type=click.FloatRange(0.0, 0.5, min_open=True), default=default,
        show_default=default is not None,
        help="Expected share of outliers: rows above that quantile of the training scores "
             "are flagged" + ("" if default is not None else " [default: the model's]") + ".")


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--model-out", type=click.Path(path_type=Path), required=True,
              help="Where to save the trained model (.tkm).")
@click.option("--task", type=click.Choice(["synthesize", "detect"]), default="synthesize",
              show_default=True, help="Train a synthesizer or an anomaly detector.")
@score_option("combined")
@contamination_option(0.1)
@training_options
@privacy_options
def fit(data: Path, model_out: Path, task: str, score: str, contamination: float,
        **options: Any) -> None:
    """Train a model on DATA and save it to --model-out."""
    _quiet(options["quiet"])
    check_distinct(_inputs(data, options), {"--model-out": model_out})
    _check_output(model_out, (".tkm",), "--model-out")
    if task == "detect":
        if options["epsilon"] is not None:
            raise UsageError("--epsilon applies to --task synthesize; anomaly detectors are "
                             "not trained with differential privacy")
        model = _fit_detector(data, options, score, contamination)
    else:
        model, _ = _fit_synthesizer(data, options)
    model.save(model_out)
    _say(options["quiet"], f"saved model to {model_out}")


def _top_columns(contributions: Any, n: int) -> list[str]:
    """``"col (nats); col (nats)"`` of each row's ``n`` largest contributions."""
    names = contributions.columns.to_numpy()
    values = contributions.to_numpy()
    order = (-values).argsort(axis=1)[:, :n]
    return ["; ".join(f"{names[j]} ({row[j]:.1f})" for j in picks)
            for row, picks in zip(values, order, strict=True)]


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Where to write DATA's rows with anomaly_score and is_outlier (.csv/.parquet).")
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="A detector saved by 'toolkit fit --task detect'.")
@click.option("--fit-on", type=click.Path(path_type=Path), default=None,
              help="Train a detector on this table first (no labels needed).")
@contamination_option(None)
@click.option("--explain", is_flag=True,
              help="Add top_columns: the columns that contribute most to each row's score.")
@click.option("--top", type=click.IntRange(min=1), default=3, show_default=True,
              help="Columns listed by --explain.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=65536, show_default=True,
              help="Rows read, scored and written at a time (bounds memory).")
@score_option(None)
@training_options
def score(data: Path, out: Path, model: Path | None, fit_on: Path | None,
          contamination: float | None, explain: bool, top: int, chunk_size: int,
          score: str | None, **options: Any) -> None:
    """Score every row of DATA for how anomalous it is (streamed in chunks)."""
    from toolkit.detector import AnomalyDetector
    from toolkit.io import iter_table, table_writer

    _quiet(options["quiet"])
    if (model is None) == (fit_on is None):
        raise UsageError("give exactly one of --model (a saved detector) or --fit-on (a table)")
    check_distinct(_inputs(data, options, **{"--model": model, "--fit-on": fit_on}),
                   {"--out": out})
    _check_output(out, TABLE_SUFFIXES, "--out")
    if model is not None:
        detector = AnomalyDetector.load(model)
        detector.score = score or detector.score
    else:
        detector = _fit_detector(fit_on, options, score or "combined", contamination or 0.1)
    if contamination is not None:
        detector.set_contamination(contamination)
    if data.is_dir():
        _score_images(detector, data, out, explain, options["quiet"])
        return
    columns = detector.model_.adapter_.columns_
    rows = flagged = 0
    with table_writer(out) as write:
        for chunk in iter_table(data, chunk_size):
            features = detector.model_.adapter_.check_columns(chunk)
            scores = detector.decision_function(features[columns].reset_index(drop=True))
            result = chunk.reset_index(drop=True).assign(
                anomaly_score=scores, is_outlier=(scores > detector.threshold_).astype(int))
            if explain:
                result["top_columns"] = _top_columns(detector.explain(features), top)
            write(result)
            rows += len(result)
            flagged += int(result["is_outlier"].sum())
        if rows == 0:
            raise DataError(f"{data} has no rows to score")
    _say(options["quiet"], f"scored {rows} rows: {flagged} above the threshold "
                           f"{detector.threshold_:.3f}; wrote {out}")


def _score_images(detector: Any, folder: Path, out: Path, explain: bool, quiet: bool) -> None:
    """``score`` for a folder of images: a table of scores, and error maps with --explain."""
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from adapters.imaging import read_image_folder
    from toolkit.report_html import canvas

    images = read_image_folder(folder)
    scores = detector.decision_function(images)
    flags = (scores > detector.threshold_).astype(int)
    result = pd.DataFrame({"image": images.names, "anomaly_score": scores, "is_outlier": flags})
    write_table(result, out)
    if explain:
        maps_folder = out.with_name(out.stem + "_maps")
        maps_folder.mkdir(exist_ok=True)
        for name, error in zip(images.names, detector.explain(images), strict=True):
            figure, axes = canvas(2.0, 2.0)
            axes.imshow(error, cmap="magma")
            axes.axis("off")
            target = maps_folder / (Path(name).with_suffix("").as_posix().replace("/", "__")
                                    + ".png")
            figure.savefig(target, dpi=80, bbox_inches="tight")
            plt.close(figure)
        _say(quiet, f"wrote per-pixel error maps to {maps_folder}/")
    _say(quiet, f"scored {len(scores)} images: {int(np.sum(flags))} above the threshold "
                f"{detector.threshold_:.3f}; wrote {out}")


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--rows", type=click.IntRange(min=1), required=True, help="Rows to generate.")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Synthetic table to write (.csv or .parquet).")
@click.option("--seed", type=SEED, default=None,
              help="Random seed for this sample [default: a fresh one, printed].")
@condition_option
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def sample(model: Path, rows: int, out: Path, seed: int | None, conditions: tuple[str, ...],
           quiet: bool) -> None:
    """Generate --rows synthetic rows (or images, into the folder --out) from a saved MODEL."""
    from adapters.imaging import ImageAdapter, write_image_folder
    from toolkit.estimators import Synthesizer

    _quiet(quiet)
    wanted = parse_conditions(conditions)
    check_distinct({"MODEL": model}, {"--out": out})
    if out.suffix:
        _check_output(out, TABLE_SUFFIXES, "--out")
    synthesizer = Synthesizer.load(model)
    images = isinstance(synthesizer.adapter_, ImageAdapter)
    if images != (not out.suffix):
        raise UsageError(f"--out {out}: give a folder for an image model and a .csv/.parquet "
                         "file for a table model")
    if images:
        _check_output(out.with_suffix(".png"), (".png",), "--out")
    synthetic = synthesizer.sample(rows, conditions=wanted, random_state=_seed(seed, quiet))
    if images:
        write_image_folder(synthetic, out)
    else:
        write_table(synthetic, out)
    _say(quiet, f"wrote {rows} synthetic {'images' if images else 'rows'} to {out}")


def _read_records(path: Path) -> Any:
    """A table file, or a folder / file of images, as the model's input."""
    from adapters.imaging import IMAGE_SUFFIXES, _normalise, load_image

    if path.is_dir():
        from adapters.imaging import read_image_folder

        return read_image_folder(path)
    if path.suffix.lower() in IMAGE_SUFFIXES + (".npy", ".npz"):
        if not path.is_file():
            raise DataError(f"input file not found: {path}")
        return _normalise([load_image(path)], None, [path.name], None, None)
    return read_table(path)


def _write_records(records: Any, out: Path, strip: bool = False) -> None:
    """Write decoded records: a table file, a PNG strip, or a folder of PNG files."""
    from adapters.imaging import ImageSet, image_grid, write_image_folder

    if isinstance(records, ImageSet):
        if out.suffix.lower() == ".png":
            _save_png(image_grid(records.images, columns=len(records.images) if strip else 8,
                                 scale=4), out)
        else:
            write_image_folder(records, out)
    else:
        write_table(records, out)


def _check_records_output(out: Path) -> None:
    """Fail before any work when --out (a table, a .png, or a folder) cannot be written."""
    if out.suffix:
        _check_output(out, TABLE_SUFFIXES + (".png",), "--out")
    else:
        _check_output(out.with_suffix(".png"), (".png",), "--out")  # its parent folder


def _load_model(path: Path) -> Any:
    from toolkit.estimators import Synthesizer

    return Synthesizer.load(path)


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--model", type=click.Path(path_type=Path), required=True, help="A saved model.")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Latent codes to write (.csv or .parquet), one row per record.")
def encode(data: Path, model: Path, out: Path) -> None:
    """Compress DATA's records to latent codes; prints the compression ratio and error."""
    import numpy as np

    from toolkit import latent

    check_distinct({"DATA": data, "--model": model}, {"--out": out})
    _check_output(out, TABLE_SUFFIXES, "--out")
    synthesizer = _load_model(model)
    records = _read_records(data)
    codes = latent.encode(synthesizer, records)
    error = latent.reconstruction_error(synthesizer, records)
    write_table(pd_frame(codes), out)
    width = synthesizer.adapter_.spec.width
    click.echo(f"encoded {len(codes)} records: {width} model values -> {codes.shape[1]} latent "
               f"values each (compression {width / codes.shape[1]:.1f}x); mean reconstruction "
               f"NLL {float(np.mean(error)):.3f} nats per record", err=True)


def pd_frame(codes: Any) -> Any:
    """Latent codes as a DataFrame with columns z0, z1, ..."""
    import pandas as pd

    return pd.DataFrame(codes, columns=[f"z{i}" for i in range(codes.shape[1])])


def model_and_output(what: str) -> Callable:
    """The ``--model`` and ``--out`` options of the latent-space commands."""
    def decorate(command: Callable) -> Callable:
        command = click.option("--out", "out", type=click.Path(path_type=Path), required=True,
                               help=f"{what}: a table file, or a folder (or grid .png) for "
                                    "images.")(command)
        return click.option("--model", type=click.Path(path_type=Path), required=True,
                            help="A saved model.")(command)
    return decorate


@cli.command()
@click.argument("latents", type=click.Path(path_type=Path))
@model_and_output("Decoded records")
def decode(latents: Path, model: Path, out: Path) -> None:
    """Decode latent codes (written by 'toolkit encode') back into records."""
    import pandas as pd

    from toolkit import latent

    check_distinct({"LATENTS": latents, "--model": model}, {"--out": out})
    _check_records_output(out)
    synthesizer = _load_model(model)
    codes = read_table(latents)
    text = [str(c) for c in codes.columns if not pd.api.types.is_numeric_dtype(codes[c])]
    if text:
        raise DataError(f"latent codes must be numbers, but column(s) {text[:5]} of {latents} "
                        "hold text; give a file written by 'toolkit encode'")
    _write_records(latent.decode(synthesizer, codes.to_numpy(dtype=float)), out)
    click.echo(f"decoded {len(codes)} records to {out}", err=True)


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@model_and_output("Reconstructed records")
def reconstruct(data: Path, model: Path, out: Path) -> None:
    """Pass DATA through the model (encode, then decode) and write what comes back."""
    from toolkit import latent

    check_distinct({"DATA": data, "--model": model}, {"--out": out})
    _check_records_output(out)
    synthesizer = _load_model(model)
    records = _read_records(data)
    _write_records(latent.reconstruct(synthesizer, records), out)
    click.echo(f"reconstructed to {out}", err=True)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("start", type=click.Path(path_type=Path))
@click.argument("end", type=click.Path(path_type=Path))
@click.option("--steps", type=click.IntRange(min=2), default=8, show_default=True)
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="A .png strip for images, a .csv/.parquet of rows for tables.")
def interpolate(model: Path, start: Path, end: Path, steps: int, out: Path) -> None:
    """Records along the latent line from START to END (image files, or one-row tables)."""
    from toolkit import latent

    check_distinct({"MODEL": model, "START": start, "END": end}, {"--out": out})
    _check_records_output(out)
    synthesizer = _load_model(model)
    path = latent.interpolate(synthesizer, _read_records(start), _read_records(end), steps)
    _write_records(path, out, strip=True)
    click.echo(f"wrote {steps} interpolation steps to {out}", err=True)


@cli.command(name="latent")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="The influence heatmap (.png).")
@click.option("--csv", "csv_out", type=click.Path(path_type=Path), default=None,
              help="Also write the influence matrix as CSV.")
def latent_command(model: Path, out: Path, csv_out: Path | None) -> None:
    """Heatmap of how much each latent dimension moves each feature (latent traversal)."""
    from adapters.imaging import ImageAdapter
    from toolkit import latent

    check_distinct({"MODEL": model}, {"--out": out, "--csv": csv_out})
    _check_output(out, (".png",), "--out")
    if csv_out is not None:
        _check_output(csv_out, (".csv",), "--csv")
    synthesizer = _load_model(model)
    table = latent.influence(synthesizer)
    adapter = synthesizer.adapter_
    shape = adapter.shape_[1:] if isinstance(adapter, ImageAdapter) else None
    latent.influence_heatmap(table, out, image_shape=shape)
    if csv_out is not None:
        write_table(table.reset_index(names="dimension"), csv_out)
    click.echo(f"wrote the influence of {len(table)} latent dimensions on "
               f"{table.shape[1]} features to {out}", err=True)


def _history_line(values: list[float], points: int = 8) -> str:
    if not values:
        return "-"
    step = max(1, len(values) // points)
    shown = values[::step]
    if shown[-1] is not values[-1]:
        shown.append(values[-1])
    return " -> ".join(f"{v:.3f}" for v in shown)


@cli.command(name="metadata")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Metadata YAML file to write.")
def metadata_command(data: Path, out: Path) -> None:
    """Draft a metadata file for DATA: each column's kind, with min/max or values read
    from the data (edit them to public bounds before a private fit with --epsilon)."""
    import yaml

    from adapters.dp_statistics import draft_schema
    from toolkit.io import write_text

    check_distinct({"DATA": data}, {"--out": out})
    _check_output(out, (".yaml", ".yml"), "--out")
    header = ("# Drafted by `toolkit metadata` from " + data.name + ". The min/max and values "
              "below were READ FROM THE DATA:\n# publishing them discloses extremes and rare "
              "levels. Before a private fit (--epsilon), replace them\n# with public knowledge "
              "(a data dictionary, plausible ranges such as age 0-120).\n")
    body = yaml.safe_dump({"columns": draft_schema(read_table(data))}, sort_keys=False,
                          allow_unicode=True)
    write_text(out, header + body)
    click.echo(f"wrote {out}")


def _privacy_lines(privacy: dict | None) -> list[str]:
    if not privacy:
        return []
    return [f"  target epsilon {privacy['target_epsilon']}, spent {privacy['epsilon']:.4f} at "
            f"delta {privacy['delta']:.3g}; noise multipliers: histograms "
            f"{privacy['statistics_noise']:.3g}, DP-SGD {privacy['training_noise']:.3g}; "
            f"{privacy['steps']} steps at sampling rate {privacy['sample_rate']:.3g}, "
            f"max_grad_norm {privacy['max_grad_norm']}",
            "  adapter statistics: column kinds, bounds and levels from the metadata (public); "
            "shapes from the noisy histogram release (private)"]


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the model's full JSON document.")
def info(model: Path, as_json: bool) -> None:
    """Describe a saved MODEL: backend, columns, settings, training history."""
    from toolkit.estimators import Synthesizer
    from toolkit.modelfile import load_model
    from toolkit.report import guarantee_text

    _, document = load_model(model)
    kind = document.get("kind")
    if kind not in ("synthesizer", "detector"):
        raise ModelFileError(f"{model} holds a {kind!r} model, not a synthesizer or detector")
    restored, _ = Synthesizer.restore(model, "cpu", kind=kind)  # refuses a nonsensical file
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    config = restored.config_.to_dict()
    kinds = restored.adapter_.kinds_
    history = restored.history_
    n_weights = sum(t.numel() for t in restored.backend_.state_dict().values())
    versions = document.get("versions") if isinstance(document.get("versions"), dict) else {}
    lines = [
        f"model:      {model}",
        f"kind:       {kind} ({restored.config_.backend} backend, {n_weights:,} weights)",
        f"created:    {document.get('created', '?')} with toolkit "
        f"{versions.get('toolkit', '?')}, torch {versions.get('torch', '?')}",
        f"trained on: {restored.n_rows_} rows, {len(kinds)} columns, "
        f"{restored.fit_seconds_:.1f}s, {restored.n_epochs_} epochs, seed {restored.seed_}",
        "settings:   " + ", ".join(f"{k}={config[k]}" for k in (
            "latent_dim", "hidden_dims", "beta", "prior", "batch_size", "learning_rate",
            "numeric_encoding")),
        "privacy:    " + guarantee_text(restored.privacy_),
        *_privacy_lines(restored.privacy_),
        "columns:",
        *[f"  {name}: {kind}" for name, kind in kinds.items()],
        "loss history (per epoch):",
        *[f"  {name}: {_history_line(values)}" for name, values in history.items()],
    ]
    click.echo("\n".join(lines))


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM: leave like Ctrl-C does, running the clean-up of half-written outputs."""
    click.echo("Error: terminated (SIGTERM); no output was left half-written", err=True)
    raise SystemExit(128 + signum)


def main() -> None:
    """Entry point of the ``toolkit`` console script."""
    signal.signal(signal.SIGTERM, _terminate)
    cli(prog_name="toolkit")
