"""The anomaly scoring command: ``score`` (tables streamed in chunks, or images)."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

import click

from toolkit.cli.app import cli
from toolkit.cli.common import (
    check_output,
    contamination_option,
    fit_detector,
    inputs_of,
    quiet_warnings,
    read_ahead,
    say,
    score_option,
    training_options,
    unseen_option,
    write_behind,
)


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
@unseen_option(None)
@training_options
def score(data: Path, out: Path, model: Path | None, fit_on: Path | None,
          contamination: float | None, explain: bool, top: int, chunk_size: int,
          score: str | None, unseen: str | None, **options: Any) -> None:
    """Score every row of DATA for how anomalous it is (streamed in chunks)."""
    from toolkit.exceptions import DataError, UsageError
    from toolkit.io.tables import TABLE_SUFFIXES, check_distinct, iter_table, table_writer
    from toolkit.models.detector import AnomalyDetector, column_plans, top_columns

    quiet_warnings(options["quiet"])
    if (model is None) == (fit_on is None):
        raise UsageError("give exactly one of --model (a saved detector) or --fit-on (a table)")
    check_distinct(inputs_of(data, options, **{"--model": model, "--fit-on": fit_on}),
                   {"--out": out})
    check_output(out, TABLE_SUFFIXES, "--out")
    if model is not None:
        detector = AnomalyDetector.load(model)
        detector.anomaly_score = score or detector.anomaly_score
        detector.unseen = unseen or detector.unseen
    else:
        detector = fit_detector(fit_on, options, score or "ensemble", contamination or 0.1,
                                unseen or "score")
    if contamination is not None:
        detector.set_contamination(contamination)
    if data.is_dir():
        _score_images(detector, data, out, explain, options["quiet"])
        return
    adapter = detector.model_.adapter_
    rows = flagged = 0
    # three stages at once: the next chunk is read and the last one written in
    # background threads while this one is encoded and scored; the columns are typed as
    # the model's were (not by the first chunk), so that the scores do not depend on
    # --chunk-size; the reader's thread is stopped before an error leaves the block
    chunks = read_ahead(iter_table(data, chunk_size, column_plans(adapter)))
    with table_writer(out) as write, write_behind(write) as write_later, closing(chunks):
        for chunk in chunks:
            chunk = chunk.reset_index(drop=True)
            features = adapter.select_columns(chunk)
            scores = detector.decision_function(features)
            outliers = (scores > detector.threshold_).astype(int)
            result = chunk.assign(anomaly_score=scores, is_outlier=outliers)
            if explain:
                result["top_columns"] = top_columns(detector.explain(features), top)
            write_later(result)
            rows += len(result)
            flagged += int(outliers.sum())
        if rows == 0:
            raise DataError(f"{data} has no rows to score")
    say(options["quiet"], f"scored {rows} rows: {flagged} above the threshold "
                          f"{detector.threshold_:.3f}; wrote {out}")


def _score_images(detector: Any, folder: Path, out: Path, explain: bool, quiet: bool) -> None:
    """``score`` for a folder of images: a table of scores, and error maps with --explain."""
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from toolkit.evaluate.page import canvas
    from toolkit.io.records import read_records
    from toolkit.io.tables import write_table

    images = read_records(folder).data
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
        say(quiet, f"wrote per-pixel error maps to {maps_folder}/")
    say(quiet, f"scored {len(scores)} images: {int(np.sum(flags))} above the threshold "
               f"{detector.threshold_:.3f}; wrote {out}")
