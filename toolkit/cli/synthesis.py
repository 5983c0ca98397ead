"""Commands that train and sample synthesizers: ``synth``, ``fit``, ``sample``, ``metadata``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from toolkit.cli.app import cli
from toolkit.cli.common import (
    SEED,
    check_output,
    condition_option,
    contamination_option,
    copies_text,
    fit_detector,
    fit_synthesizer,
    history_options,
    inputs_of,
    parse_conditions,
    privacy_options,
    privacy_params,
    progress_line,
    quiet_warnings,
    say,
    score_option,
    seed_or_fresh,
    show_progress,
    training_options,
    training_params,
    units_for_rows,
    unseen_option,
)
from toolkit.exceptions import DataError, UsageError

#: rows ``toolkit sample`` generates and writes at a time (its memory bound)
CLI_CHUNK_ROWS = 100_000


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
@click.option("--scale", type=click.FloatRange(0.0, min_open=True), default=None,
              help="Datasets: root rows to generate as a share of the training rows "
                   "[default: 1].")
@condition_option
@training_options
@privacy_options
@history_options
def synth(data: Path, out: Path, rows: int | None, model_out: Path | None,
          report_out: Path | None, holdout_frac: float, holdout_out: Path | None,
          target: str | None, grid: Path | None, scale: float | None,
          conditions: tuple[str, ...], **options: Any) -> None:
    """Train on DATA (CSV or Parquet; a folder of linked tables, one file each; or a folder
    of images) and write a synthetic copy to --out (a table, or a folder of tables or of PNG
    files)."""
    from toolkit.io.csvfiles import Dialect
    from toolkit.io.tables import TABLE_SUFFIXES, check_distinct, read_table, write_table

    quiet_warnings(options["quiet"])
    wanted = parse_conditions(conditions)
    check_distinct(inputs_of(data, options),
                   {"--out": out, "--model-out": model_out, "--report": report_out,
                    "--holdout-out": holdout_out, "--grid": grid})
    if holdout_out is not None and report_out is None:
        raise UsageError("--holdout-out needs --report (the holdout is kept out for the report)")
    from toolkit.io.datasets import is_dataset_folder

    if is_dataset_folder(data):
        refuse_for_datasets("synth")
        _synth_dataset(data, out, model_out, scale, report_out, holdout_frac, wanted, options)
        return
    if scale is not None:
        raise UsageError("--scale applies to a dataset (a folder of tables); use --rows")
    if data.is_dir():
        _synth_images(data, out, rows, model_out, grid, wanted, report_out, options)
        return
    check_output(out, TABLE_SUFFIXES, "--out")
    if model_out is not None:
        check_output(model_out, (".tkm",), "--model-out")
    if report_out is not None:
        check_output(report_out, (".html",), "--report")
    if holdout_out is not None:
        check_output(holdout_out, TABLE_SUFFIXES, "--holdout-out")
    from toolkit.models.synthesizer import Synthesizer

    Synthesizer(**training_params(options, "default"), **privacy_params(options)
                ).resolve_config()  # a bad preset or option fails before any work
    real = read_table(data)
    options["seed"] = seed_or_fresh(options["seed"], options["quiet"])
    holdout = None
    if report_out is not None:
        if target is not None and target not in real.columns:
            raise DataError(f"--target {target!r} is not a column of {data}")
        from toolkit.evaluate.report import column_kinds, split_holdout

        # by patient: the subject of the histories the model will learn, else an ID column
        # that repeats (kinds inferred as the model infers them)
        kinds = column_kinds(real, options["metadata"])
        layout = _history_layout(real, options)
        try:
            split = split_holdout(real, holdout_frac, options["seed"], kinds,
                                  None if layout is None else layout.subject)
        except DataError as error:
            raise DataError(f"--holdout-frac: {error}") from None
        real, holdout = split.train, split.holdout
        patients = ("" if split.subject is None else
                    f": every row of {split.held_subjects} of {split.subjects} patients "
                    f"(distinct {split.subject!r} values), so no patient is on both sides")
        say(options["quiet"], f"holding out {len(holdout)} of {len(real) + len(holdout)} rows "
                              f"(--holdout-frac){patients} from training to measure privacy "
                              "in the report"
                              + (f"; they are written to {holdout_out}" if holdout_out else
                                  "; save them with --holdout-out"))
    synthesizer, real = fit_synthesizer(data, options, records=real)
    if synthesizer.histories_ is None:
        synthetic = synthesizer.sample(rows or len(real), conditions=wanted)
    else:  # patients: as many as trained on, or about --rows rows of them
        patients = units_for_rows(synthesizer, rows) or synthesizer.n_patients_
        synthetic = synthesizer.sample(patients, conditions=wanted)
    result = None
    if report_out is not None:
        from toolkit.evaluate.report import evaluate

        layout = None if synthesizer.histories_ is None else synthesizer.histories_.layout
        result = evaluate(real, synthetic, holdout=holdout, target=target,
                          metadata=options["metadata"], random_state=options["seed"],
                          guarantee=synthesizer.privacy_,
                          progress=None if options["quiet"] else progress_line,
                          subject=None if layout is None else layout.subject,
                          order=None if layout is None else layout.order)
    dialect = Dialect.of(real)
    write_table(synthetic, out, dialect)
    if model_out is not None:
        synthesizer.save(model_out)
    say(options["quiet"], f"wrote {len(synthetic)} synthetic rows to {out}"
        + copies_text(synthesizer))
    if holdout_out is not None:
        write_table(holdout, holdout_out, dialect)
    if result is not None:
        result.to_html(report_out)
        say(options["quiet"], f"wrote the report to {report_out} in "
                              f"{result.summary['seconds']:.1f}s: "
                              f"fidelity {result.summary['fidelity']}, "
                              f"utility {result.summary['utility']}, "
                              f"privacy {result.summary['privacy']}"
                              + (f", patients {result.summary['patients']}, history rules "
                                 f"{result.summary['history_rules']}"
                                 if "patients" in result.summary else ""))


def _history_layout(real: Any, options: dict[str, Any]) -> Any:
    """The patient histories (a ``HistoryLayout``) that a synthesizer with these options
    finds in the table ``real``, or ``None`` for a flat table: found before the fit, so that
    the holdout takes whole patients (the fit says what it found)."""
    import warnings

    from toolkit.exceptions import InferenceWarning
    from toolkit.io.metadata import read_metadata
    from toolkit.models.histories import longitudinal_layout

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        return longitudinal_layout(real, read_metadata(options["metadata"]),
                                   options.get("subject"), options.get("order"))


#: the options of ``synth`` and ``sample`` a dataset does not take yet, and why
DATASET_REFUSED = {
    "rows": "the tables' sizes follow from the root rows: use --scale",
    "holdout_out": "the held-out tables are not written for a dataset yet",
    "target": "a dataset report has no utility section yet",
    "grid": "it applies to images",
    "subject": "a dataset's keys and orders go in its metadata file",
    "order": "a dataset's keys and orders go in its metadata file",
    "backend": "every table uses the preset's model",
    "batch_size": "every table uses the preset's batch size",
}


def refuse_for_datasets(command: str) -> None:
    """Refuse an option a dataset does not take, given on the command line.

    Raises
    ------
    UsageError
        Naming the first such option and why.
    """
    context = click.get_current_context()
    for name, reason in DATASET_REFUSED.items():
        if name in context.params and context.get_parameter_source(name) not in (
                ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
            flag = {"report_out": "report", "conditions": "condition"}.get(name, name)
            raise UsageError(f"--{flag.replace('_', '-')} cannot be used when {command} "
                             f"works on a dataset: {reason}")


def check_output_folder(out: Path, what: str) -> None:
    """Refuse an ``--out`` that is not a new or empty folder (for ``what``: images, a dataset).

    Raises
    ------
    UsageError
        For a path with a file extension, or a folder (or file) that holds something.
    """
    if out.suffix:
        raise UsageError(f"--out {out} must be a folder for {what} (no file extension)")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out folder {out} is not empty")


def _synth_dataset(data: Path, out: Path, model_out: Path | None, scale: float | None,
                   report_out: Path | None, holdout_frac: float,
                   wanted: dict[str, str] | None, options: dict[str, Any]) -> None:
    """``synth`` for a folder of linked tables: one synthetic file per table into ``out``
    (``wanted``: conditions on root tables); with ``report_out``, a share of the root entities
    is held out and the dataset report written (:mod:`toolkit.evaluate.dataset`)."""
    from toolkit.io.datasets import dataset_files, read_dataset, write_dataset
    from toolkit.models.dataset import MultiTableSynthesizer

    check_output_folder(out, "a dataset")
    if model_out is not None:
        check_output(model_out, (".tkm",), "--model-out")
    if report_out is not None:
        check_output(report_out, (".html",), "--report")
    files = dataset_files(data)
    tables = read_dataset(data)
    for column in wanted or {}:  # before the fit: a column no table has
        table, _, rest = column.partition(".")
        if not any(column in t.columns for t in tables.values()) \
                and rest not in (tables[table].columns if table in tables else ()):
            raise UsageError(f"--condition names column {column!r}, which no table of {data} "
                             "has")
    options["seed"] = seed_or_fresh(options["seed"], options["quiet"])
    model = MultiTableSynthesizer(metadata=options["metadata"],
                                  config=options["config"] or "default",
                                  epochs=options["epochs"], random_state=options["seed"],
                                  epsilon=options["epsilon"], delta=options["delta"],
                                  max_grad_norm=options["max_grad_norm"])
    held = None
    if report_out is not None:
        from toolkit.evaluate.dataset import split_dataset

        metadata = model.resolve_metadata(tables)
        model.set_params(metadata=metadata.to_dict())  # drafted once, said once
        tables, held = split_dataset(tables, metadata, holdout_frac, options["seed"])
        say(options["quiet"], "holding out " + ", ".join(
            f"{len(t)} {n} rows" for n, t in held.items() if len(t) < len(tables[n]) + len(t))
            + " (whole root entities with their children) to measure the report")
    model.fit(tables)
    say(options["quiet"], f"learnt {len(tables)} tables in {model.fit_seconds_:.1f}s "
                          f"(generated in the order {', '.join(model.order_)})")
    synthetic = model.sample(scale=scale or 1.0, conditions=wanted)
    for name, table in synthetic.items():  # each table in its file's dialect
        table.attrs["csv"] = tables[name].attrs.get("csv", {})
    write_dataset(synthetic, out, {name: path.suffix for name, path in files.items()})
    if model_out is not None:
        model.save(model_out)
    say(options["quiet"], "wrote " + ", ".join(f"{len(t)} {n} rows" for n, t in
                                               synthetic.items()) + f" to {out}/")
    if report_out is not None:
        from toolkit.evaluate.dataset import dataset_report
        from toolkit.evaluate.dataset_page import render_dataset
        from toolkit.io.tables import write_text

        measured = dataset_report(tables, synthetic, model.metadata_, held, options["seed"])
        measured["guarantee"] = model.privacy_
        write_text(report_out, render_dataset(measured))
        say(options["quiet"], f"wrote the dataset report to {report_out}: sdmetrics "
                              f"multi-table quality {measured['sdmetrics']['score']:.3f}")


def _synth_images(data: Path, out: Path, rows: int | None, model_out: Path | None,
                  grid: Path | None, wanted: dict[str, str] | None, report_out: Path | None,
                  options: dict[str, Any]) -> None:
    """``synth`` for a folder of images: PNG files into the folder ``out``."""
    if report_out is not None:
        raise UsageError("--report works on tables; image reports are not supported yet")
    check_output_folder(out, "images")
    check_output(out.with_suffix(".png"), (".png",), "--out")  # its parent folder exists
    if grid is not None:
        check_output(grid, (".png",), "--grid")
    if model_out is not None:
        check_output(model_out, (".tkm",), "--model-out")
    from toolkit.io.records import write_records

    synthesizer, real = fit_synthesizer(data, options)
    images = synthesizer.sample(rows or len(real.images), conditions=wanted)
    write_records(images, out)
    if grid is not None:
        write_records(next(synthesizer.adapter_.chunks(images, 64)), grid)
    if model_out is not None:
        synthesizer.save(model_out)
    say(options["quiet"], f"wrote {len(images.images)} synthetic images to {out}/")


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--rows", type=click.IntRange(min=1), default=None,
              help="Rows to generate (required, but for a dataset model).")
@click.option("--scale", type=click.FloatRange(0.0, min_open=True), default=None,
              help="Dataset models: root rows as a share of the training rows [default: 1].")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Synthetic table to write: .csv or .parquet, or a folder of Parquet parts "
                   "(a path without a suffix). Rows are generated and written "
                   f"{CLI_CHUNK_ROWS:,} at a time, so memory stays bounded for any --rows.")
@click.option("--seed", type=SEED, default=None,
              help="Random seed for this sample [default: a fresh one, printed].")
@condition_option
@click.option("--progress", is_flag=True,
              help="Show the progress bar (more than one chunk of rows) even when stderr is "
                   "not a terminal.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def sample(model: Path, rows: int | None, scale: float | None, out: Path, seed: int | None,
           conditions: tuple[str, ...], progress: bool, quiet: bool) -> None:
    """Generate --rows synthetic rows (or images, into the folder --out) from a saved MODEL;
    for a dataset model, every table into the folder --out (--scale sets its size)."""
    from toolkit.io.modelfile import load_model
    from toolkit.io.records import check_records_output, write_record_chunks
    from toolkit.io.tables import check_distinct
    from toolkit.models.synthesizer import Synthesizer

    quiet_warnings(quiet)
    wanted = parse_conditions(conditions)
    check_distinct({"MODEL": model}, {"--out": out})
    if load_model(model)[1].get("kind") == "dataset":
        refuse_for_datasets("sample")
        _sample_dataset(model, out, scale, seed, wanted, quiet)
        return
    if rows is None:
        raise UsageError("--rows is required (how many rows to generate)")
    if scale is not None:
        raise UsageError("--scale applies to a dataset model; use --rows")
    synthesizer = Synthesizer.load(model)
    check_records_output(type(synthesizer.adapter_), out, "--out")
    from tqdm.auto import tqdm

    # a longitudinal model draws patients: about --rows rows of them, in chunks of about
    # CLI_CHUNK_ROWS rows
    chunks = synthesizer.sample_chunks(units_for_rows(synthesizer, rows),
                                       units_for_rows(synthesizer, CLI_CHUNK_ROWS),
                                       conditions=wanted, random_state=seed_or_fresh(seed, quiet))
    with tqdm(total=rows, unit="row", unit_scale=True, desc="sampling", file=sys.stderr,
              disable=not show_progress(quiet, progress) or rows <= CLI_CHUNK_ROWS,
              leave=False) as bar:
        written = write_record_chunks(_counted(chunks, bar), out)
    say(quiet, f"wrote {written} synthetic rows to {out}" + copies_text(synthesizer))


def _sample_dataset(model: Path, out: Path, scale: float | None, seed: int | None,
                    wanted: dict[str, str] | None, quiet: bool) -> None:
    """``sample`` for a dataset model: every table, as CSV, into the folder ``out``
    (``wanted``: conditions on root tables)."""
    from toolkit.io.datasets import write_dataset
    from toolkit.models.dataset import MultiTableSynthesizer

    check_output_folder(out, "a dataset")
    synthetic = MultiTableSynthesizer.load(model).sample(
        scale=scale or 1.0, random_state=seed_or_fresh(seed, quiet), conditions=wanted)
    write_dataset(synthetic, out)
    say(quiet, "wrote " + ", ".join(f"{len(t)} {n} rows" for n, t in synthetic.items())
        + f" to {out}/")


def _counted(chunks: Iterator[Any], bar: Any) -> Iterator[Any]:
    """``chunks``, moving the progress ``bar`` by each chunk's length."""
    for chunk in chunks:
        yield chunk
        bar.update(len(chunk))


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--model-out", type=click.Path(path_type=Path), required=True,
              help="Where to save the trained model (.tkm).")
@click.option("--task", type=click.Choice(["synthesize", "detect"]), default="synthesize",
              show_default=True, help="Train a synthesizer or an anomaly detector.")
@score_option("ensemble", needs="--task detect")
@contamination_option(0.1, needs="--task detect")
@unseen_option("score", needs="--task detect")
@training_options
@privacy_options
@history_options
def fit(data: Path, model_out: Path, task: str, score: str, contamination: float, unseen: str,
        **options: Any) -> None:
    """Train a model on DATA and save it to --model-out."""
    from toolkit.io.tables import check_distinct

    quiet_warnings(options["quiet"])
    check_distinct(inputs_of(data, options), {"--model-out": model_out})
    check_output(model_out, (".tkm",), "--model-out")
    refuse_options_of_other_task(task)
    if task == "detect":
        model = fit_detector(data, options, score, contamination, unseen)
    else:
        model, _ = fit_synthesizer(data, options)
    model.save(model_out)
    say(options["quiet"], f"saved model to {model_out}")


# Options that only one --task uses, and why the other task refuses them instead of ignoring them.
TASK_ONLY_OPTIONS = {
    "synthesize": (("epsilon", "subject", "order"), "anomaly detectors are not trained with "
                   "differential privacy and score rows one by one"),
    "detect": (("score", "contamination", "unseen"), "a synthesizer has no anomaly score"),
}


def refuse_options_of_other_task(task: str) -> None:
    """Refuse options given on the command line that only the other ``--task`` uses.

    Parameters
    ----------
    task : str
        The ``--task`` being fitted (``"synthesize"`` or ``"detect"``).

    Raises
    ------
    UsageError
        Naming the options and the task they apply to.
    """
    context = click.get_current_context()
    for owner, (names, reason) in TASK_ONLY_OPTIONS.items():
        given = [f"--{name}" for name in names
                 if context.get_parameter_source(name) not in (ParameterSource.DEFAULT,
                                                               ParameterSource.DEFAULT_MAP)]
        if owner != task and given:
            verb = "applies" if len(given) == 1 else "apply"
            raise UsageError(f"{', '.join(given)} {verb} to --task {owner}; {reason}")


@cli.command(name="metadata")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Metadata YAML file to write.")
def metadata_command(data: Path, out: Path) -> None:
    """Draft a metadata file for DATA: each column's kind, with min/max or values read
    from the data (edit them to public bounds before a private fit with --epsilon), and
    for a longitudinal table its subject and order columns."""
    import yaml

    from toolkit.adapters.dp_statistics import draft_schema
    from toolkit.io.tables import check_distinct, read_table, write_text

    check_distinct({"DATA": data}, {"--out": out})
    check_output(out, (".yaml", ".yml"), "--out")
    header = ("# Drafted by `toolkit metadata` from " + data.name + ". The min/max and values "
              "below were READ FROM THE DATA:\n# publishing them discloses extremes and rare "
              "levels. Before a private fit (--epsilon), replace them\n# with public knowledge "
              "(a data dictionary, plausible ranges such as age 0-120).\n")
    import warnings

    from toolkit.io.datasets import is_dataset_folder
    from toolkit.models.histories import longitudinal_layout

    if is_dataset_folder(data):
        _draft_dataset_metadata(data, out)
        return
    table = read_table(data)
    drafted: dict[str, Any] = {}
    with warnings.catch_warnings():  # said in the file instead
        warnings.simplefilter("ignore")
        layout = longitudinal_layout(table, None, None, None)
    if layout is not None:
        header += (f"# Several rows per patient: subject {layout.subject!r} and order "
                   f"{layout.order or 'the row order'!r} were found; check them.\n")
        drafted["subject"] = layout.subject
        if layout.order is not None:
            drafted["order"] = layout.order
    drafted["columns"] = draft_schema(table, numeric=(drafted.get("order"),))
    from toolkit.adapters.kinds import infer_kinds
    from toolkit.adapters.rules import discover_rules

    rules = discover_rules(table, infer_kinds(table, {})[0])
    if rules:
        header += ("# Rules that hold on every row were found (rules:); generated rows keep "
                   "every rule listed:\n# delete the ones that hold by chance.\n")
        drafted["rules"] = [rule.to_dict() for rule in rules]
    body = yaml.safe_dump(drafted, sort_keys=False, allow_unicode=True)
    write_text(out, header + body)
    click.echo(f"wrote {out}")


def _draft_dataset_metadata(data: Path, out: Path) -> None:
    """``metadata`` for a folder of linked tables: keys, relationships and orders."""
    import yaml

    from toolkit.adapters.dataset import draft_dataset
    from toolkit.io.datasets import read_dataset
    from toolkit.io.tables import write_text

    drafted, notes = draft_dataset(read_dataset(data))
    header = (f"# Drafted by `toolkit metadata` from the tables in {data.name}/: primary keys, "
              "foreign keys (relationships)\n# and orders found from names and values; check "
              "them. Column kinds are inferred when fitted\n# (add them per table under "
              "columns:).\n" + "".join(f"#   {note}\n" for note in notes))
    write_text(out, header + yaml.safe_dump(drafted.to_dict(), sort_keys=False,
                                            allow_unicode=True))
    click.echo(f"wrote {out}")
