"""The seed's comparison of the three backends, measured: training stability and latent smoothness.

For every benchmark table (seed-0 split, as in ``synth_vs_sdv.py``) and every
backend preset (default VAE, gan, vaegan) this fits the model and reports:

* **stability**: the coefficient of variation of the main loss over the last
  20 % of epochs (how much the curve still jumps), and whether training diverged;
* **latent smoothness**: 200 pairs of latent codes drawn from the model's own
  sampling distribution are decoded at 11 evenly spaced points on the straight
  line between them (the decoder's mean output, no sampling noise); the ratio
  of the largest step to the mean step, averaged over pairs. 1.0 means the
  output changes evenly along the line; large values mean jumps.

The numbers go into a marked section of BENCHMARKS.md; speed and quality of the
same presets are in the ``backends`` section written by ``synth_vs_sdv.py``.

Usage (from the repository root)::

    python -m benchmarks.backend_traits
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import DEFAULT_OUT, N_THREADS, set_threads, warm_up_torch
from benchmarks.datasets import TABLES, split_table
from benchmarks.markdown import md_table, module_command, write_section

PRESETS = ("default", "gan", "vaegan")
MAIN_LOSS = {"vae": "loss", "vaegan": "loss", "gan": "critic"}
MARKS = ("<!-- traits:start -->", "<!-- traits:end -->")


def loss_variation(history: dict[str, list[float]], name: str) -> float:
    """Coefficient of variation of loss ``name`` over the last 20 % of epochs."""
    values = np.asarray(history[name], dtype=float)
    tail = values[-max(2, len(values) // 5) :]
    return float(tail.std() / (abs(tail.mean()) + 1e-8))


@torch.no_grad()
def latent_smoothness(model, pairs: int = 200, points: int = 11, seed: int = 0) -> float:
    """Mean over code pairs of (largest step / mean step) along decoded straight lines."""
    backend = model.backend_
    generator = torch.Generator().manual_seed(seed)
    start = backend.sample_latent(pairs, generator, {})
    end = backend.sample_latent(pairs, generator, {})
    condition = backend.condition_vector({}, pairs, generator)
    weights = torch.linspace(0, 1, points)
    decoded = torch.stack([
        backend.heads.activate(backend.decode((1 - w) * start + w * end, condition), tau=1e-3)
        for w in weights
    ])  # (points, pairs, width)
    steps = (decoded[1:] - decoded[:-1]).norm(dim=2)  # (points - 1, pairs)
    ratio = steps.max(dim=0).values / steps.mean(dim=0).clamp_min(1e-8)
    return float(ratio.mean())


def main() -> None:
    """Fit every preset on every table and write the section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    set_threads(N_THREADS)
    warm_up_torch()
    from toolkit import Synthesizer
    from toolkit.exceptions import TrainingError

    rows = []
    for table in TABLES:
        train, _, _ = split_table(table, 0)
        for preset in PRESETS:
            started = time.perf_counter()
            try:
                model = Synthesizer(config=preset, random_state=0).fit(train)
            except TrainingError as error:
                rows.append([table, preset, "diverged", str(error), "", ""])
                continue
            seconds = time.perf_counter() - started
            backend = model.config_.backend
            variation = loss_variation(model.history_, MAIN_LOSS[backend])
            smooth = latent_smoothness(model)
            rows.append([table, preset, "no", f"{variation:.3f}", f"{smooth:.2f}",
                         f"{seconds:.1f}"])
            print(rows[-1], flush=True)
    traits = md_table(["table", "preset", "diverged", "loss variation (last 20 % of epochs)",
                       "latent jump ratio (1 = even)", "fit s"], rows)
    text = (
        "## Backend traits: training stability and latent smoothness\n\n"
        f"Reproduce: `{module_command('backend_traits')}` (seed-0 splits, seed 0 models, "
        f"2 torch threads, run {time.strftime('%Y-%m-%d')}). Loss variation = std/|mean| of the "
        "main loss (VAE, VAE-GAN: total loss; GAN: critic's Wasserstein estimate) over the last "
        "20 % of epochs. Latent jump ratio = largest / mean step between 11 evenly spaced "
        "points on 200 straight lines between latent codes, decoded without sampling noise.\n\n"
        + traits + "\n"
    )
    write_section(args.out, text, *MARKS)
    print(text)


if __name__ == "__main__":
    main()
