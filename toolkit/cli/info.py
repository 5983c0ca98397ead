"""The ``info`` command: what a saved model file holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from toolkit.cli.app import cli


def _history_line(values: list[float], points: int = 8) -> str:
    if not values:
        return "-"
    step = max(1, len(values) // points)
    shown = values[::step]
    if shown[-1] is not values[-1]:
        shown.append(values[-1])
    return " -> ".join(f"{v:.3f}" for v in shown)


def _privacy_lines(privacy: dict | None) -> list[str]:
    if not privacy:
        return []
    parts = privacy.get("parts", {"model": privacy})
    return [f"  target epsilon {privacy['target_epsilon']}, spent {privacy['epsilon']:.4f} at "
            f"delta {privacy['delta']:.3g} per {privacy['unit']}, "
            f"max_grad_norm {privacy['max_grad_norm']}",
            *[f"  {name}: noise multipliers: histograms {part['statistics_noise']:.3g}, DP-SGD "
              f"{part['training_noise']:.3g}; {part['steps']} steps at sampling rate "
              f"{part['sample_rate']:.3g}" for name, part in parts.items()],
            "  adapter statistics: column kinds, bounds and levels from the metadata (public); "
            "shapes from the noisy histogram release (private)"]


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the model's full JSON document.")
def info(model: Path, as_json: bool) -> None:
    """Describe a saved MODEL: backend, columns, settings, training history."""
    from toolkit.evaluate.report import guarantee_text
    from toolkit.exceptions import ModelFileError
    from toolkit.io.modelfile import load_model
    from toolkit.models.synthesizer import Synthesizer

    _, document = load_model(model)
    estimator = document.get("kind")
    if estimator == "dataset":
        _dataset_info(model, document, as_json)
        return
    if estimator not in ("synthesizer", "detector"):
        raise ModelFileError(f"{model} holds a {estimator!r} model, not a synthesizer, "
                             "detector or dataset model")
    # refuses a nonsensical file
    restored = Synthesizer.restore(model, "cpu", estimator_name=estimator)[0]
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    config = restored.config_.to_dict()
    kinds = dict(restored.adapter_.kinds_)
    if restored.histories_ is not None:  # the patients table's columns, then the events'
        kinds = {**kinds, **restored.histories_.events.kinds_}
    history = restored.history_
    n_weights = sum(t.numel() for t in restored.backend_.state_dict().values())
    versions = document.get("versions") if isinstance(document.get("versions"), dict) else {}
    lines = [
        f"model:      {model}",
        f"kind:       {estimator} ({restored.config_.backend} backend, {n_weights:,} weights)",
        f"created:    {document.get('created', '?')} with toolkit "
        f"{versions.get('toolkit', '?')}, torch {versions.get('torch', '?')}",
        f"trained on: {restored.n_rows_} rows, {len(kinds)} columns, "
        f"{restored.fit_seconds_:.1f}s, {restored.n_epochs_} epochs, seed {restored.seed_}",
        "settings:   " + ", ".join(f"{k}={config[k]}" for k in (
            "latent_dim", "hidden_dims", "beta", "prior", "batch_size", "learning_rate",
            "numeric_encoding")),
        *_histories_lines(restored),
        "privacy:    " + guarantee_text(restored.privacy_),
        *_privacy_lines(restored.privacy_),
        "columns:",
        *[f"  {name}: {kind}" for name, kind in kinds.items()],
        "loss history (per epoch):",
        *[f"  {name}: {_history_line(values)}" for name, values in history.items()],
    ]
    click.echo("\n".join(lines))


def _dataset_info(path: Path, document: dict[str, Any], as_json: bool) -> None:
    """``info`` of a dataset model (linked tables)."""
    from toolkit.evaluate.report import guarantee_text
    from toolkit.models.dataset import MultiTableSynthesizer

    model = MultiTableSynthesizer.load(path, device="cpu")  # refuses a nonsensical file
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    versions = document.get("versions") if isinstance(document.get("versions"), dict) else {}
    lines = [
        f"model:      {path}",
        f"kind:       dataset of {len(model.columns_)} linked tables (MultiTableSynthesizer), "
        f"generated in the order {', '.join(model.order_)}",
        f"created:    {document.get('created', '?')} with toolkit "
        f"{versions.get('toolkit', '?')}, torch {versions.get('torch', '?')}",
        "trained on: " + ", ".join(f"{n} {r} rows" for n, r in model.n_rows_.items())
        + f"; {model.fit_seconds_:.1f}s, seed {model.seed_}",
        "privacy:    " + guarantee_text(model.privacy_),
        *[f"  {root}: epsilon {part['epsilon']:.4f} at delta {part['delta']:.3g} over "
          f"{part['entities']} entities" for root, part in
          ((model.privacy_ or {}).get("roots") or {}).items()],
        "relationships:",
        *[f"  {relation}" + (" (lookup: codes learnt as a category)"
                             if str(relation) in model.lookups_ else "")
          for relation in model.metadata_.relationships],
        "tables:",
    ]
    for name in model.order_:
        relation = model.generated_under(name)
        how = "root: Synthesizer" if relation is None else \
            f"histories under {relation.parent}"
        rules = model.metadata_.tables[name].rules
        lines.append(f"  {name}: {how}" + (f"; {len(rules)} rules" if rules else "")
                     + (f"; constant within the parent: {model.constants_[name]}"
                        if model.constants_.get(name) else ""))
    click.echo("\n".join(lines))


def _histories_lines(model: Any) -> list[str]:
    """What a longitudinal model learnt its histories from (nothing for a flat one)."""
    if model.histories_ is None:
        return []
    layout = model.histories_.layout
    attributes = [c for c in layout.patient_columns if c != layout.subject]
    return [f"histories:  {model.n_patients_} patients, subject {layout.subject!r}, order "
            f"{layout.order or 'row order'!r}; patient attributes {attributes}, changing "
            f"within a history {layout.event_columns}"]

