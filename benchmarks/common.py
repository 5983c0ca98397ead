"""What the benchmark scripts share to measure: paths, our presets' names, the SDV and PyOD
anchors, seeding and timing, provenance (package versions, machine, commit), result caches and
the command line's comma-separated options.

Every script is run from the repository root as ``python -m benchmarks.NAME`` and imports
from here with ``from benchmarks.common import ...``; how the reports write numbers and the
marked sections of ``BENCHMARKS.md`` is in :mod:`benchmarks.markdown`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from benchmarks import N_THREADS

T = TypeVar("T")

# --------------------------------------------------------------------------- paths, names
REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: the markdown file whose marked sections the scripts (re)write
DEFAULT_OUT = REPO_ROOT / "BENCHMARKS.md"

OURS = "toolkit"
SDV_MODELS: dict[str, str] = {
    "gaussiancopula": "GaussianCopulaSynthesizer",
    "tvae": "TVAESynthesizer",
    "ctgan": "CTGANSynthesizer",
}

#: our presets: the default (VAE) and the other two backends' presets
DEFAULT_CONFIG = "default"
GAN_CONFIG = "gan"
VAEGAN_CONFIG = "vaegan"
BACKEND_CONFIGS: tuple[str, ...] = (DEFAULT_CONFIG, GAN_CONFIG, VAEGAN_CONFIG)
CONFIG_LABELS: dict[str, str] = {
    DEFAULT_CONFIG: "toolkit-vae (default)",
    GAN_CONFIG: "toolkit-gan",
    VAEGAN_CONFIG: "toolkit-vaegan",
}

# SDV's and sdmetrics' deprecation chatter (the scripts' own output stays readable)
for _msg in (
    ".*save_to_json.*",
    ".*single table quality report is deprecated.*",
    ".*is_sparse is deprecated.*",
):
    warnings.filterwarnings("ignore", message=_msg)


def config_label(config: str | None) -> str:
    """Name of our model with a preset, as the reports show it.

    Parameters
    ----------
    config : str or None
        Preset name or YAML path; ``None`` is the default preset.

    Returns
    -------
    str
        ``toolkit-vae (default)``, ``toolkit-gan``, ``toolkit-vaegan`` or ``toolkit-<config>``.
    """
    config = config or DEFAULT_CONFIG
    return CONFIG_LABELS.get(config, f"{OURS}-{config}")


# --------------------------------------------------------------------------- seeds, threads, time
def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch global RNGs (SDV models rely on them).

    Parameters
    ----------
    seed : int
        The seed for all three generators.
    """
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover - torch is a hard dependency in practice
        pass


def set_threads(n: int) -> None:
    """Pin torch intra-op threads so that every model gets the same CPU budget.

    Parameters
    ----------
    n : int
        Number of threads (the benchmarks use ``N_THREADS``).
    """
    import torch

    torch.set_num_threads(n)


def warm_up_torch() -> None:
    """Pay torch's one-off lazy imports (the optimizer pulls in torch._dynamo) before any
    timing, so that the first model measured is not charged for them."""
    import torch

    layer = torch.nn.Linear(4, 1)
    optimizer = torch.optim.Adam(layer.parameters())
    layer(torch.zeros(2, 4)).sum().backward()
    optimizer.step()


def run_pinned(command: list[str]) -> tuple[str, float, float]:
    """Run ``command`` on one core (``taskset -c 0`` where there is one; one torch and BLAS
    thread), from the repository root, timed by GNU ``time``.

    Parameters
    ----------
    command : list of str
        The program and its arguments.

    Returns
    -------
    tuple of (str, float, float)
        Its standard output, wall seconds and peak memory in GB.

    Raises
    ------
    RuntimeError
        When it exits non-zero (with the end of its standard error).
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    done = subprocess.run([*pin, "/usr/bin/time", "-f", "%e %M", *command], env=env,
                          capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    seconds, kilobytes = done.stderr.strip().splitlines()[-1].split()
    return done.stdout, float(seconds), int(kilobytes) / 1e6


def timed(call: Callable[[], T]) -> tuple[T, float]:
    """Run ``call()`` and measure its wall time.

    Parameters
    ----------
    call : callable
        Called once, without arguments.

    Returns
    -------
    tuple
        ``call()``'s result and the wall time in seconds.
    """
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def loadavg() -> float:
    """1-minute load average (NaN where unavailable)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return math.nan


def busy(record: dict[str, Any]) -> bool:
    """Whether a timing was taken while other processes competed for the CPU.

    Heuristic: the 1-minute load average exceeded the benchmark's own threads + 1.

    Parameters
    ----------
    record : dict
        A result with the ``loadavg_1m`` it was measured under (missing: not busy).

    Returns
    -------
    bool
    """
    return record.get("loadavg_1m", 0.0) > N_THREADS + 1.0


# --------------------------------------------------------------------------- anchors
def detect_metadata(train: pd.DataFrame, table_name: str) -> Any:
    """SDV ``Metadata`` detected from the training data (SDV 1.x and 2.x API).

    Parameters
    ----------
    train : pandas.DataFrame
        The table to describe.
    table_name : str
        Its name in the metadata.

    Returns
    -------
    sdv.metadata.Metadata
    """
    from sdv.metadata import Metadata

    if hasattr(Metadata, "detect_from_dataframe"):
        return Metadata.detect_from_dataframe(train, table_name=table_name)
    return Metadata.detect_from_dataframes({table_name: train})


class SDVModel:
    """Thin wrapper hiding the SDV 1.x (DataFrame) / 2.x (dict of tables) API difference.

    Parameters
    ----------
    model : str
        A key of ``SDV_MODELS`` (``gaussiancopula``, ``tvae``, ``ctgan``).
    metadata : sdv.metadata.Metadata
        The table's metadata (see :func:`detect_metadata`).
    table_name : str
        The table's name in ``metadata``.
    **params
        Passed to the SDV synthesizer; default parameters unless given (e.g. epochs in
        smoke tests).
    """

    def __init__(self, model: str, metadata: Any, table_name: str, **params: Any) -> None:
        import sdv.single_table

        self._table = table_name
        self._synth = getattr(sdv.single_table, SDV_MODELS[model])(metadata, **params)
        self._dict_api = int(pkg_version("sdv").split(".")[0]) >= 2

    def fit(self, data: pd.DataFrame) -> SDVModel:
        """Fit on a single DataFrame."""
        self._synth.fit({self._table: data} if self._dict_api else data)
        return self

    def sample(self, num_rows: int) -> pd.DataFrame:
        """Sample ``num_rows`` rows as a DataFrame."""
        out = self._synth.sample(num_rows)
        return out[self._table] if isinstance(out, dict) else out

    def sample_from_conditions(self, num_rows: int, column_values: dict[str, Any]) -> pd.DataFrame:
        """Sample ``num_rows`` rows with ``column_values`` fixed (SDV's own method:
        rejection sampling for TVAE and CTGAN). SDV may return fewer rows (with a
        warning) or raise when it cannot generate any."""
        from sdv.sampling import Condition

        condition = Condition(num_rows=num_rows, column_values=column_values)
        out = self._synth.sample_from_conditions([condition])
        return out[self._table] if isinstance(out, dict) else out


#: share of the inliers a clean-reference detector is fitted on (detection benchmarks)
REFERENCE_SHARE = 0.6


def reference_split(y: np.ndarray, protocol: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices to fit on and to score for the labels ``y`` (1 = anomaly): all and all
    (``unsupervised``), or a seeded :data:`REFERENCE_SHARE` of the inliers and the rest
    (``clean``)."""
    rows = np.arange(len(y))
    if protocol == "unsupervised":
        return rows, rows
    inliers = np.random.default_rng(seed + 1000).permutation(np.flatnonzero(y == 0))
    reference = np.sort(inliers[: int(REFERENCE_SHARE * len(inliers))])
    return reference, np.setdiff1d(rows, reference)


def pyod_detector(name: str, n_features: int, seed: int) -> Any:
    """A PyOD detector with its default parameters (quiet, seeded where it can be).

    Parameters
    ----------
    name : str
        ``iforest``, ``ecod``, ``knn``, ``lof``, ``vae``, ``autoencoder``; anything else is
        DeepSVDD.
    n_features : int
        Number of input columns (DeepSVDD needs it).
    seed : int
        ``random_state`` of the detectors that take one.

    Returns
    -------
    pyod.models.base.BaseDetector
        Not fitted.
    """
    if name == "iforest":
        from pyod.models.iforest import IForest

        return IForest(random_state=seed)
    if name == "ecod":
        from pyod.models.ecod import ECOD

        return ECOD()
    if name == "knn":
        from pyod.models.knn import KNN

        return KNN()
    if name == "lof":
        from pyod.models.lof import LOF

        return LOF()
    if name == "vae":
        from pyod.models.vae import VAE

        return VAE(random_state=seed, verbose=0)
    if name == "autoencoder":
        from pyod.models.auto_encoder import AutoEncoder

        return AutoEncoder(random_state=seed, verbose=0)
    from pyod.models.deep_svdd import DeepSVDD

    return DeepSVDD(n_features=n_features, random_state=seed, verbose=0)


# --------------------------------------------------------------------------- provenance
def pkg_version(name: str) -> str:
    """Installed version of a distribution, or ``"not installed"``.

    Parameters
    ----------
    name : str
        Distribution name (``sdv``, ``pyod``, ...).

    Returns
    -------
    str
    """
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def toolkit_version() -> str | None:
    """Version of the imported ``toolkit`` (else of the installed distribution)."""
    module = sys.modules.get("toolkit")
    return getattr(module, "__version__", None) or pkg_version("toolkit")


def machine_info() -> dict[str, Any]:
    """Describe the machine the numbers come from.

    Returns
    -------
    dict
        ``nproc``, ``cpu_model``, ``platform``, ``python``, ``torch``, ``torch_threads``
        and ``gpu`` (``None`` without CUDA); stored with every cached result.
    """
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        nproc = os.cpu_count() or 0
    try:
        import torch

        torch_threads, torch_version = torch.get_num_threads(), torch.__version__
    except ImportError:  # pragma: no cover
        torch_threads, torch_version = None, None
    return {
        "nproc": nproc,
        "cpu_model": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch_version,
        "torch_threads": torch_threads,
        "gpu": _gpu_name(),
    }


def _gpu_name() -> str | None:
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:  # noqa: BLE001 - informational only
        return None


def git_revision() -> str | None:
    """Short commit hash of the repo (``+dirty`` if modified), if available."""

    def _git(*args: str) -> str | None:
        try:
            res = subprocess.run(
                ["git", "-C", str(REPO_ROOT), *args],
                capture_output=True,
                text=True,
                check=False,
                timeout=10,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    rev = _git("rev-parse", "--short", "HEAD")
    if rev and _git("status", "--porcelain", "--untracked-files=no"):
        rev += "+dirty"
    return rev


# --------------------------------------------------------------------------- caching
def load_json(path: Path) -> dict[str, Any]:
    """Read a results file.

    Parameters
    ----------
    path : pathlib.Path
        A JSON file written by :func:`save_result`.

    Returns
    -------
    dict
        Its content; ``{"results": {}}`` if the file does not exist.
    """
    if path.exists():
        return json.loads(path.read_text())
    return {"results": {}}


def save_result(path: Path, key: str, record: dict[str, Any]) -> None:
    """Merge one record into a results file atomically (re-reading it first).

    Parameters
    ----------
    path : pathlib.Path
        The results file (created with its folder if missing).
    key : str
        The record's cache key under ``"results"``.
    record : dict
        JSON-ready values (numpy scalars are converted).
    """
    data = load_json(path)
    data.setdefault("results", {})[key] = record
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n")
    os.replace(tmp, path)


def cached_result(path: Path, key: str, force: bool,
                  measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The record ``key`` of the results file ``path``, or, when it is missing or ``force``
    is set, a new measurement saved there with today's date.

    Parameters
    ----------
    path : pathlib.Path
        The results file.
    key : str
        The record's cache key.
    force : bool
        Measure again even when the record is cached.
    measure : callable
        Returns the record (JSON-ready values).
    """
    from datetime import date

    record = load_json(path)["results"].get(key)
    if record is None or force:
        print(f"measuring {key} ...", flush=True)
        record = {**measure(), "date": date.today().isoformat()}
        save_result(path, key, record)
    return record


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj)}")


# --------------------------------------------------------------------------- command line
def split_choices(
    parser: argparse.ArgumentParser, value: str, allowed: list[str], what: str
) -> list[str]:
    """Parse a comma-separated option whose items must come from a list.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        Reports an unknown item (and exits).
    value : str
        The option's value; items are stripped and lower-cased.
    allowed : list of str
        The valid items.
    what : str
        What an item is, for the error (``table``, ``model``).

    Returns
    -------
    list of str
        The items in the given order.
    """
    items = [v.strip().lower() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad:
        parser.error(f"unknown {what}(s) {bad}; choose from {allowed}")
    return items
