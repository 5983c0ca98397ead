"""Commands on the latent space: ``encode``, ``decode``, ``reconstruct``, ``interpolate``,
``latent``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from toolkit.cli.app import cli
from toolkit.cli.common import (
    check_output,
    load_model_file,
)
from toolkit.exceptions import DataError


def model_and_output(what: str) -> Callable:
    """The ``--model`` and ``--out`` options of the latent-space commands."""
    def decorate(command: Callable) -> Callable:
        command = click.option("--out", "out", type=click.Path(path_type=Path), required=True,
                               help=f"{what}: a table file, or a folder (or grid .png) for "
                                    "images.")(command)
        return click.option("--model", type=click.Path(path_type=Path), required=True,
                            help="A saved model.")(command)
    return decorate


def pd_frame(codes: Any) -> Any:
    """Latent codes as a DataFrame with columns z0, z1, ..."""
    import pandas as pd

    return pd.DataFrame(codes, columns=[f"z{i}" for i in range(codes.shape[1])])


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--model", type=click.Path(path_type=Path), required=True, help="A saved model.")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Latent codes to write (.csv or .parquet), one row per record.")
def encode(data: Path, model: Path, out: Path) -> None:
    """Compress DATA's records to latent codes; prints the compression ratio and error."""
    import numpy as np

    from toolkit.evaluate import latent
    from toolkit.io.records import read_records
    from toolkit.io.tables import TABLE_SUFFIXES, check_distinct, write_table

    check_distinct({"DATA": data, "--model": model}, {"--out": out})
    check_output(out, TABLE_SUFFIXES, "--out")
    synthesizer = load_model_file(model)
    records = read_records(data).data
    codes = latent.encode(synthesizer, records)
    error = latent.reconstruction_error(synthesizer, records)
    write_table(pd_frame(codes), out)
    width = synthesizer.adapter_.spec.width
    click.echo(f"encoded {len(codes)} records: {width} model values -> {codes.shape[1]} latent "
               f"values each (compression {width / codes.shape[1]:.1f}x); mean reconstruction "
               f"NLL {float(np.mean(error)):.3f} nats per record", err=True)


def model_writing_to(inputs: dict[str, Path], model: Path, out: Path) -> Any:
    """The saved model, once the inputs and --out are checked (distinct, and --out a place
    for the model's records)."""
    from toolkit.io.records import check_records_output
    from toolkit.io.tables import check_distinct

    check_distinct({**inputs, "--model": model}, {"--out": out})
    synthesizer = load_model_file(model)
    check_records_output(type(synthesizer.adapter_), out, "--out")
    return synthesizer


@cli.command()
@click.argument("latents", type=click.Path(path_type=Path))
@model_and_output("Decoded records")
def decode(latents: Path, model: Path, out: Path) -> None:
    """Decode latent codes (written by 'toolkit encode') back into records."""
    import pandas as pd

    from toolkit.evaluate import latent
    from toolkit.io.records import write_records
    from toolkit.io.tables import read_table

    synthesizer = model_writing_to({"LATENTS": latents}, model, out)
    codes = read_table(latents)
    text = [str(c) for c in codes.columns if not pd.api.types.is_numeric_dtype(codes[c])]
    if text:
        raise DataError(f"latent codes must be numbers, but column(s) {text[:5]} of {latents} "
                        "hold text; give a file written by 'toolkit encode'")
    write_records(latent.decode(synthesizer, codes.to_numpy(dtype=float)), out)
    click.echo(f"decoded {len(codes)} records to {out}", err=True)


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@model_and_output("Reconstructed records")
def reconstruct(data: Path, model: Path, out: Path) -> None:
    """Pass DATA through the model (encode, then decode) and write what comes back."""

    from toolkit.evaluate import latent
    from toolkit.io.records import read_records, write_records

    synthesizer = model_writing_to({"DATA": data}, model, out)
    write_records(latent.reconstruct(synthesizer, read_records(data).data), out)
    click.echo(f"reconstructed to {out}", err=True)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("start", type=click.Path(path_type=Path))
@click.argument("end", type=click.Path(path_type=Path))
@click.option("--steps", type=click.IntRange(min=2), default=8, show_default=True,
              help="Records decoded along the latent line, the codes of START and END "
                   "included.")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="A .png strip for images, a .csv/.parquet of rows for tables.")
def interpolate(model: Path, start: Path, end: Path, steps: int, out: Path) -> None:
    """Records along the latent line from START to END (image files, or one-row tables)."""
    from toolkit.evaluate import latent
    from toolkit.io.records import read_records, write_records

    synthesizer = model_writing_to({"MODEL": model, "START": start, "END": end}, model, out)
    path = latent.interpolate(synthesizer, read_records(start).data, read_records(end).data,
                              steps)
    write_records(path, out)
    click.echo(f"wrote {steps} interpolation steps to {out}", err=True)


@cli.command(name="latent")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="The influence heatmap (.png).")
@click.option("--csv", "csv_out", type=click.Path(path_type=Path), default=None,
              help="Also write the influence matrix as CSV.")
def latent_command(model: Path, out: Path, csv_out: Path | None) -> None:
    """Heatmap of how much each latent dimension moves each feature (latent traversal)."""
    from toolkit.evaluate import latent
    from toolkit.io.tables import check_distinct, write_table

    check_distinct({"MODEL": model}, {"--out": out, "--csv": csv_out})
    check_output(out, (".png",), "--out")
    if csv_out is not None:
        check_output(csv_out, (".csv",), "--csv")
    synthesizer = load_model_file(model)
    table = latent.influence(synthesizer)
    shape = synthesizer.adapter_.describe().get("shape")  # (C, H, W) for images
    shape = None if shape is None else tuple(shape[1:])
    latent.influence_heatmap(table, out, image_shape=shape)
    if csv_out is not None:
        write_table(table.reset_index(names="dimension"), csv_out)
    click.echo(f"wrote the influence of {len(table)} latent dimensions on "
               f"{table.shape[1]} features to {out}", err=True)
