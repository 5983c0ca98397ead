"""What the commands share: options, seeds, output checks, and training a model from
the command's options."""

from __future__ import annotations

import queue
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from toolkit.config import ANOMALY_SCORES as SCORES
from toolkit.config import BACKENDS as BACKEND_NAMES
from toolkit.config import UNSEEN, preset_names

#: seeds are integers in [0, 2**32 - 1] (numpy's and scikit-learn's range)
SEED = click.IntRange(0, 2**32 - 1)
T = TypeVar("T")


#: what ``--fail-under`` can gate on: summary key of the report, higher is better
GATES = {"quality": "quality", "detection": "detection_score",
         "alpha_precision": "alpha_precision", "beta_recall": "beta_recall",
         "utility": "utility_ratio"}


class QualityBar(click.ParamType):
    """``--fail-under``: ``Q`` (the overall quality) or ``METRIC=Q`` for a metric of
    :data:`GATES`, Q between 0 and 1."""

    name = "[METRIC=]Q"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[str, float]:
        if isinstance(value, tuple):
            return value
        metric, _, bar = str(value).rpartition("=")
        metric = metric.strip() or "quality"
        if metric not in GATES:
            self.fail(f"unknown metric {metric!r}; choose from {', '.join(GATES)}", param, ctx)
        try:
            number = float(bar)
        except ValueError:
            self.fail(f"{bar!r} is not a number", param, ctx)
        if not 0.0 <= number <= 1.0:
            self.fail(f"{number} is not between 0 and 1", param, ctx)
        return metric, number


def say(ctx_quiet: bool, message: str) -> None:
    if not ctx_quiet:
        click.echo(message, err=True)


def quiet_warnings(quiet: bool) -> None:
    """With --quiet, warnings are not printed either."""
    if quiet:
        from toolkit.exceptions import InferenceWarning, PrivacyWarning

        warnings.simplefilter("ignore", InferenceWarning)
        warnings.simplefilter("ignore", PrivacyWarning)


def seed_or_fresh(seed: int | None, quiet: bool) -> int:
    """``seed``, or a fresh one (printed, so that the run can be repeated)."""
    if seed is None:
        from toolkit.models.base import fresh_seed

        seed = fresh_seed()
        say(quiet, f"seed {seed} (pass --seed {seed} to repeat this run)")
    return seed


def check_output(path: Path, suffixes: tuple[str, ...], what: str) -> None:
    """Fail before any work when an output path cannot be written."""
    from toolkit.exceptions import UsageError
    from toolkit.io.tables import check_writable

    if path.suffix.lower() not in suffixes:
        raise UsageError(f"{what} {path} must end in {', '.join(suffixes)}")
    check_writable(path, what)


def parse_conditions(pairs: tuple[str, ...]) -> dict[str, str] | None:
    """Turn ``("sex=F", "stage=3")`` into ``{"sex": "F", "stage": "3"}``.

    The same ``COLUMN=VALUE`` given twice counts once.

    Raises
    ------
    UsageError
        For a pair without ``=`` or a column, or a column given two different values.

    Examples
    --------
    >>> parse_conditions(("sex=F", "stage=3", "sex=F"))
    {'sex': 'F', 'stage': '3'}
    """
    from toolkit.exceptions import UsageError

    conditions: dict[str, str] = {}
    for pair in pairs:
        column, sep, value = pair.partition("=")
        if not sep or not column:
            raise UsageError(f"--condition {pair!r} must look like COLUMN=VALUE")
        if conditions.setdefault(column, value) != value:
            raise UsageError(f"--condition gives column {column!r} two values, "
                             f"{conditions[column]!r} and {value!r}; a row has one value per "
                             "column, so give one (sample each value separately)")
    return conditions or None


condition_option = click.option(
    "--condition", "conditions", multiple=True, metavar="COLUMN=VALUE",
    help="Generate only rows with this value (repeatable); categories are generated directly. "
         "Datasets: a root table's column (TABLE.COLUMN where several have it).",
)


def show_progress(quiet: bool, progress: bool) -> bool:
    """Whether a command draws progress bars: with ``--progress``, or when stderr is a
    terminal and not ``--quiet`` (never into a redirected stderr unless asked).

    Parameters
    ----------
    quiet : bool
        ``--quiet`` was given.
    progress : bool
        ``--progress`` was given.

    Returns
    -------
    bool
    """
    return progress or (not quiet and sys.stderr.isatty())


def _needs(needs: str, text: str) -> str:
    """An option's help ``text``, led by ``"With --task detect: "`` for an option that
    only applies with ``needs``.

    Examples
    --------
    >>> _needs("--task detect", "Expected share of outliers.")
    'With --task detect: expected share of outliers.'
    >>> _needs("--fit-on", "YAML file of column kinds.")
    'With --fit-on: YAML file of column kinds.'
    """
    if not needs:
        return text
    first = text.split(maxsplit=1)[0]
    lead = text if len(first) > 1 and first.isupper() else text[0].lower() + text[1:]
    return f"With {needs}: {lead}"


#: the preset each training command uses without --config, as its help says it
CONFIG_DEFAULTS = {
    "synth": "[default: 'default']",
    "fit": "[default: 'default'; with --task detect 'detect', 'detect-images' on images]",
    "score": "[default: 'detect'; 'detect-images' on images]",
}
#: the option without which a command's training options do not apply (said first in their help)
TRAINING_NEEDS = {"score": "--fit-on"}


def training_options(command: Callable) -> Callable:
    """Options shared by the commands that train a model (``synth``, ``fit``, ``score``:
    the help of ``--config`` says the command's default preset, see
    :data:`CONFIG_DEFAULTS`)."""
    name = command.__name__
    needs = TRAINING_NEEDS.get(name, "")
    default = CONFIG_DEFAULTS.get(name, "[default: 'default'; for detection 'detect', "
                                        "'detect-images' on images]")
    options = [
        click.option("--config", "config", default=None,
                     help=_needs(needs, f"Preset name ({', '.join(preset_names())}) or a "
                                        f"YAML file {default}.")),
        click.option("--backend", type=click.Choice(BACKEND_NAMES), default=None,
                     help=_needs(needs, "Generative model (default: the preset's).")),
        click.option("--epochs", type=click.IntRange(min=1), default=None,
                     help=_needs(needs, "Training epochs (default: the preset's step "
                                        "budget).")),
        click.option("--batch-size", type=click.IntRange(min=1), default=None,
                     help=_needs(needs, "Rows per optimizer step.")),
        click.option("--metadata", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help=_needs(needs, "YAML file of column kinds that override inference.")),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
                     help=_needs(needs, "Where to train (auto: CUDA when present).")),
        click.option("--seed", type=SEED, default=None,
                     help=_needs(needs, "Random seed: same seed, same output (bit-identical on "
                                        "CPU) [default: a fresh one, printed].")),
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
        click.option("--allow-copies", is_flag=True,
                     help="Keep generated rows that equal a unique training row (by default "
                          "they are redrawn, and the model file keeps fingerprints of the "
                          "training rows to find them)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def history_options(command: Callable) -> Callable:
    """Options of the commands that train a synthesizer on a longitudinal table."""
    options = [
        click.option("--subject", default=None,
                     help="Column naming each row's patient: the table is learnt as patient "
                          "histories and --rows counts rows approximately [default: found "
                          "when an identifier repeats]."),
        click.option("--order", default=None,
                     help="Column ordering each patient's rows (a date-time or a number) "
                          "[default: found, else the row order]."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def history_params(options: dict[str, Any]) -> dict[str, Any]:
    """The longitudinal options as Synthesizer parameters."""
    return {"subject": options.get("subject"), "order": options.get("order")}


def privacy_params(options: dict[str, Any]) -> dict[str, Any]:
    """The privacy options as Synthesizer parameters, refusing --delta alone."""
    from toolkit.exceptions import UsageError

    copies = {"avoid_copies": not options.get("allow_copies", False)}
    if options.get("epsilon") is None:
        if options.get("delta") is not None:
            raise UsageError("--delta needs --epsilon")
        return copies
    return {"epsilon": options["epsilon"], "delta": options["delta"],
            "max_grad_norm": options["max_grad_norm"], **copies}


def training_params(options: dict[str, Any], default_config: str | None) -> dict[str, Any]:
    return dict(
        backend=options["backend"], config=options["config"] or default_config,
        epochs=options["epochs"], batch_size=options["batch_size"],
        metadata=options["metadata"], device=options["device"], random_state=options["seed"],
        verbose=show_progress(options["quiet"], options["progress"]),
    )


def units_for_rows(model: Any, rows: int | None) -> int | None:
    """What ``sample`` takes for about ``rows`` rows: rows for a flat model; patients for a
    longitudinal one (``rows`` over the mean history length, at least 1); ``None`` for
    ``None``."""
    if rows is None or getattr(model, "histories_", None) is None:
        return rows
    return max(1, round(rows * model.n_patients_ / model.n_rows_))


def copies_text(model: Any) -> str:
    """``" (12 rows that copied a training row were redrawn; 2 still copy one and were
    kept)"``, or ``""`` when no row copied one.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> copies_text(SimpleNamespace(n_copies_redrawn_=12, n_copies_kept_=0))
    ' (12 rows that copied a training row were redrawn; none copies one now)'
    >>> copies_text(SimpleNamespace(n_copies_redrawn_=20, n_copies_kept_=2))
    ' (20 redraws of rows that copied a training row; 2 rows still copy one and were kept)'
    """
    redrawn = getattr(model, "n_copies_redrawn_", 0)
    kept = getattr(model, "n_copies_kept_", 0)
    if kept:
        return (f" ({redrawn} redraws of rows that copied a training row; {kept} rows still "
                "copy one and were kept)")
    if redrawn:
        return f" ({redrawn} rows that copied a training row were redrawn; none copies one now)"
    return ""


def report_training(quiet: bool, model: Any) -> None:
    """Say how long the fit of a Synthesizer took (and its privacy guarantee)."""
    say(quiet, f"trained in {model.fit_seconds_:.1f}s ({model.n_epochs_} epochs)")
    if getattr(model, "privacy_", None):
        from toolkit.evaluate.report import guarantee_text

        say(quiet, "guarantee: " + guarantee_text(model.privacy_))


def fit_synthesizer(data_path: Path, options: dict[str, Any],
                    records: Any = None) -> tuple[Any, Any]:
    """Train a Synthesizer with the command's options on ``records`` (default: DATA, read);
    returns the model and the records."""
    from toolkit.io.records import read_records
    from toolkit.models.synthesizer import Synthesizer

    synthesizer = Synthesizer(**training_params(options, "default"), **privacy_params(options),
                              **history_params(options))
    config = synthesizer.resolve_config()  # a bad preset or option fails before any work
    read = read_records(data_path if records is None else records)
    synthesizer.set_params(random_state=seed_or_fresh(options["seed"], options["quiet"]))
    say(options["quiet"], f"training a {config.backend} on {read.domain.summary(read.data)} "
                          f"of {data_path}")
    synthesizer.fit(read)
    report_training(options["quiet"], synthesizer)
    if synthesizer.histories_ is not None:
        layout = synthesizer.histories_.layout
        say(options["quiet"], f"learnt {synthesizer.n_patients_} patient histories (subject "
                              f"{layout.subject!r}, order {layout.order or 'row order'!r})")
    return synthesizer, read.data


def fit_detector(data_path: Path, options: dict[str, Any], score: str,
                 contamination: float, unseen: str) -> Any:
    """Train an AnomalyDetector with the command's options on DATA."""
    from toolkit.io.records import domain_of, read_records
    from toolkit.models.detector import AnomalyDetector

    detector = AnomalyDetector(anomaly_score=score, contamination=contamination, unseen=unseen,
                               **training_params(options, None))  # the domain's preset
    domain = domain_of(data_path)
    config = detector.resolve_config(domain)  # a bad preset or option fails before any work
    read = read_records(data_path)
    detector.set_params(random_state=seed_or_fresh(options["seed"], options["quiet"]))
    say(options["quiet"], f"training a {config.backend} detector on "
                          f"{domain.summary(read.data)} of {data_path}")
    detector.fit(read)
    report_training(options["quiet"], detector.model_)
    return detector


def inputs_of(data: Path | None, options: dict[str, Any], **more: Path | None
            ) -> dict[str, Path | None]:
    """The input files of a command (DATA, --metadata, --config files, more) for
    :func:`~toolkit.io.tables.check_distinct`."""
    config = options.get("config")
    config_file = Path(config) if config and Path(config).suffix in (".yaml", ".yml") else None
    return {"DATA": data, "--metadata": options.get("metadata"), "--config": config_file,
            **more}


_DONE = object()


def read_ahead(chunks: Iterable[T], depth: int = 1) -> Iterator[T]:
    """Iterate ``chunks`` in a background thread, ``depth`` items ahead of the consumer.

    Reading a file (pyarrow's readers release the GIL) then overlaps the work done on
    the previous chunk; memory holds at most ``depth + 2`` chunks. An error of the
    reader is raised here, in the consumer, when it reaches that item.

    Examples
    --------
    >>> list(read_ahead(iter(range(5))))
    [0, 1, 2, 3, 4]
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: tuple[Any, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not hand_over((chunk, None)):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            hand_over((_DONE, error))
            return
        hand_over((_DONE, None))

    worker = threading.Thread(target=produce, name="toolkit-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            chunk, error = ready.get()
            if error is not None:
                raise error
            if chunk is _DONE:
                return
            yield chunk
    finally:
        stop.set()
        worker.join()


@contextmanager
def write_behind(write: Callable[[T], None], depth: int = 1) -> Iterator[Callable[[T], None]]:
    """Yield ``later(chunk)``, which queues ``chunk`` for ``write`` in a background thread.

    Writing (Arrow conversion and Parquet encoding release the GIL) then overlaps the
    work on the next chunk; at most ``depth`` chunks wait. Every queued chunk is
    written before the block ends; an error of ``write`` is raised by the next
    ``later`` or at the end of the block, and an error in the block stops the writer
    (after the chunk it is writing) before it propagates, so that the caller can
    remove the half-written file.

    Examples
    --------
    >>> written = []
    >>> with write_behind(written.append) as later:
    ...     for chunk in ("a", "b", "c"):
    ...         later(chunk)
    >>> written
    ['a', 'b', 'c']
    """
    waiting: queue.Queue = queue.Queue(maxsize=depth)
    failed: list[BaseException] = []

    def consume() -> None:
        while True:
            chunk = waiting.get()
            if chunk is _DONE:
                return
            if failed:
                continue  # drain: the error is reported once, by the producer
            try:
                write(chunk)
            except BaseException as error:  # noqa: BLE001 - handed to the producer
                failed.append(error)

    worker = threading.Thread(target=consume, name="toolkit-write-behind", daemon=True)
    worker.start()

    def later(chunk: T) -> None:
        if failed:
            raise failed[0]
        waiting.put(chunk)

    try:
        yield later
    except BaseException:
        failed.append(RuntimeError("stopped"))  # skip what is still queued
        waiting.put(_DONE)
        worker.join()
        raise
    waiting.put(_DONE)
    worker.join()
    if failed:
        raise failed[0]


def progress_line(message: str) -> None:
    """Report progress on stderr, one line per stage."""
    click.echo(f"  {message}", err=True)


def load_model_file(path: Path) -> Any:
    from toolkit.models.synthesizer import Synthesizer

    return Synthesizer.load(path)


def score_option(default: str | None, needs: str = "") -> Callable:
    """The ``--score`` option (which anomaly score); ``needs`` names the option without
    which it does not apply (``"--task detect"``), said first in its help."""
    return click.option(
        "--score", type=click.Choice(SCORES), default=default,
        show_default=default is not None,
        help=_needs(needs,
                    "Anomaly score: negative ELBO + isolation forest, each standardised "
                    "(ensemble); negative ELBO (combined); reconstruction or latent NLL; "
                    "isolation forest" + ("" if default is not None else
                                          " [default: the model's; ensemble with --fit-on]")
                    + "."))


def unseen_option(default: str | None, needs: str = "") -> Callable:
    """The ``--unseen`` option (score or refuse what training never had); ``needs`` as for
    :func:`score_option`."""
    return click.option(
        "--unseen", type=click.Choice(UNSEEN), default=default,
        show_default=default is not None,
        help=_needs(needs,
                    "A level, missing value or out-of-range number training never had: score "
                    "it as novel, or refuse the table with an error"
                    + ("" if default is not None else
                       " [default: the model's; score with --fit-on]") + "."))


def contamination_option(default: float | None, needs: str = "") -> Callable:
    """The ``--contamination`` option (expected outlier share); ``needs`` as for
    :func:`score_option`."""
    return click.option(
        "--contamination", type=click.FloatRange(0.0, 0.5, min_open=True), default=default,
        show_default=default is not None,
        help=_needs(needs,
                    "Expected share of outliers: rows above that quantile of the training "
                    "scores are flagged" + ("" if default is not None else
                                            " [default: the model's]") + "."))
