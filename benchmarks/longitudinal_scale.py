"""A longitudinal table of a million rows, fitted in bounded memory by sampling patients.

medicaldata::covid_testing (15,524 rows of 12,344 patients) is written :data:`COPIES` times
with fresh subject IDs (copy ``k`` adds ``k * ID_STRIDE``), about a million rows, as one CSV.
The installed ``toolkit`` command then fits it with the default preset (``--subject
subject_id --order pan_day``) on one core: the file is read in one streamed pass that keeps
whole patients (a seeded hash of the subject) up to the preset's ``max_training_rows``; and
samples 100,000 rows from the model file. Wall seconds and peak resident memory come from
``/usr/bin/time``; the sample is checked for fresh IDs and whole patients.

Results are cached in ``results/longitudinal_scale.json`` with their date; the report goes
between ``<!-- longitudinal_scale:start -->`` and ``<!-- longitudinal_scale:end -->`` in
``BENCHMARKS.md``.

Example (from the repository root)::

    python -m benchmarks.longitudinal_scale
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks import longitudinal
from benchmarks.common import (
    DEFAULT_OUT,
    RESULTS_DIR,
    git_revision,
    load_json,
    machine_info,
    save_result,
    toolkit_version,
)
from benchmarks.markdown import machine_desc, md_table, module_command, write_section
from benchmarks.scale import run_cli

RESULTS = RESULTS_DIR / "longitudinal_scale.json"
START_MARK = "<!-- longitudinal_scale:start -->"
END_MARK = "<!-- longitudinal_scale:end -->"
TABLE = "covid_testing"
#: copies of the table, each with fresh subject IDs
COPIES = 65
ID_STRIDE = 100_000
SAMPLE_ROWS = 100_000
KEY = f"{TABLE}|x{COPIES}"


def replicate(path: Path) -> tuple[int, int]:
    """Write the replicated table to ``path``; its rows and patients."""
    spec = longitudinal.TABLES[TABLE]
    table = longitudinal.load(TABLE)
    for copy in range(COPIES):
        part = table.assign(**{spec.subject: table[spec.subject] + copy * ID_STRIDE})
        part.to_csv(path, mode="a" if copy else "w", header=copy == 0, index=False)
    return COPIES * len(table), COPIES * table[spec.subject].nunique()


def measure(workdir: Path) -> dict[str, Any]:
    """Fit and sample the replicated table; the numbers of the report."""
    from toolkit import Synthesizer

    spec = longitudinal.TABLES[TABLE]
    source, model, out = workdir / "visits.csv", workdir / "visits.tkm", workdir / "out.csv"
    rows, patients = replicate(source)
    fit = run_cli("fit", str(source), "--subject", spec.subject, "--order", spec.order,
                  "--model-out", str(model), "--seed", "0")
    sample = run_cli("sample", str(model), "--rows", str(SAMPLE_ROWS), "--out", str(out),
                     "--seed", "1")
    fitted = Synthesizer.load(model)
    synthetic = pd.read_csv(out)
    real_ids = set(pd.read_csv(source, usecols=[spec.subject])[spec.subject])
    constant = synthetic.groupby(spec.subject)["gender"].nunique().max()
    return {"rows": rows, "patients": patients, "fit_s": fit["seconds"],
            "fit_peak_gb": fit["peak_gb"], "training_patients": int(fitted.n_patients_),
            "training_rows": int(fitted.n_rows_), "sample_s": sample["seconds"],
            "sample_peak_gb": sample["peak_gb"], "sampled_rows": len(synthetic),
            "sampled_patients": int(synthetic[spec.subject].nunique()),
            "real_subject_ids": int(synthetic[spec.subject].isin(real_ids).sum()),
            "gender_values_per_patient": int(constant), "date": dt.date.today().isoformat(),
            "git": git_revision(), "toolkit_version": toolkit_version(),
            "machine": machine_info()}


def build_report(record: dict[str, Any]) -> str:
    """The markdown section of one cached record."""
    table = md_table(
        ["rows (patients) in the file", "fitted on rows (patients)", "fit s", "fit peak GB",
         "sample s (rows)", "sample peak GB", "real IDs", "sexes per patient"],
        [[f"{record['rows']:,} ({record['patients']:,})",
          f"{record['training_rows']:,} ({record['training_patients']:,})",
          f"{record['fit_s']:.0f}", f"{record['fit_peak_gb']:.2f}",
          f"{record['sample_s']:.0f} ({record['sampled_rows']:,})",
          f"{record['sample_peak_gb']:.2f}", str(record["real_subject_ids"]),
          str(record["gender_values_per_patient"])]])
    return (
        "## Longitudinal tables at a million rows\n\n"
        f"covid_testing written {COPIES} times with fresh subject IDs, fitted with the default "
        "preset by the installed `toolkit` command on one core (whole patients sampled up to "
        "`max_training_rows` in one streamed pass), then 100,000 rows sampled from the model "
        f"file; {machine_desc(record['machine'])}; measured {record['date']}.\n\n"
        f"{table}\n\nReproduce: `{module_command('longitudinal_scale')}`\n")


def main(argv: list[str] | None = None) -> int:
    """Measure (unless cached) and rewrite the section; returns a process exit code."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--force", action="store_true", help="measure again")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown file to rewrite")
    args = p.parse_args(argv)
    record = load_json(RESULTS).get("results", {}).get(KEY)
    if record is None or args.force:
        with tempfile.TemporaryDirectory() as workdir:
            record = measure(Path(workdir))
        save_result(RESULTS, KEY, record)
    body = build_report(record)
    print(body)
    write_section(args.out, body, START_MARK, END_MARK)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
