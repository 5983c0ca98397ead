"""Images: anomaly detection and synthetic-image utility on scikit-learn's 8×8 digits (offline).

(a) Anomaly detection, one class vs rest (ADBench's protocol for image sets): for each digit
    c and seed, the inliers are every image of c and the anomalies a seeded 5 % sample
    (relative to the inliers) of the other digits. Two protocols: ``unsupervised`` (each
    detector is fitted on all of them without labels and its training scores are compared
    with the truth) and ``clean`` (fitted on a seeded 60 % of the inliers, scoring the other
    inliers and every anomaly); AUROC. Ours: ``AnomalyDetector(random_state=seed)`` on the
    images; PyOD (default parameters) on the flattened pixels: IForest, VAE, AutoEncoder.
(b) Utility of synthetic images: a seeded stratified 70/30 split; a classifier
    (HistGradientBoosting on the pixels) trained on the real training images, and one trained
    on as many class-conditional synthetic images (each backend's image preset, trained on
    the training images),
    both tested on the real test images (accuracy).
(c) Fit seconds of our image model and images/s sampled.

Writes the section between ``<!-- images:start -->`` and ``<!-- images:end -->`` of
BENCHMARKS.md. Example (from the repository root)::

    python -m benchmarks.images --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    DEFAULT_OUT,
    N_THREADS,
    RESULTS_DIR,
    git_revision,
    machine_info,
    pkg_version,
    pyod_detector,
    reference_split,
    set_threads,
    timed,
)
from benchmarks.markdown import machine_desc, md_table, module_command, seed_list, write_section

START, END = "<!-- images:start -->", "<!-- images:end -->"
PYOD = ("iforest", "vae", "autoencoder")
BACKENDS = ("vae", "vaegan", "gan")
#: the preset each backend is measured with on images
PRESETS = {"vae": "default", "vaegan": "vaegan", "gan": "gan-images"}
SPEED_IMAGES = 10_000
CACHE = RESULTS_DIR / "images_detection.json"
PROTOCOLS = ("unsupervised", "clean")


def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digit images as uint8 ``(N, 8, 8)`` and their labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return np.round(data.images / 16 * 255).astype(np.uint8), data.target


def one_class_set(images: np.ndarray, labels: np.ndarray, normal: int,
                  seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every image of ``normal`` plus a 5 % (of those) sample of the other digits."""
    rng = np.random.default_rng(seed)
    inliers = np.flatnonzero(labels == normal)
    others = np.flatnonzero(labels != normal)
    chosen = rng.choice(others, max(1, round(0.05 * len(inliers))), replace=False)
    index = np.concatenate([inliers, chosen])
    return images[index], np.r_[np.zeros(len(inliers)), np.ones(len(chosen))]


def detection(seeds: list[int]) -> dict[str, dict[str, list[float]]]:
    """AUROC per protocol and detector over every (digit, seed)."""
    from sklearn.metrics import roc_auc_score

    from toolkit import AnomalyDetector

    images, labels = digits()
    results = {protocol: {"toolkit": [], **{name: [] for name in PYOD}}
               for protocol in PROTOCOLS}
    for protocol in PROTOCOLS:
        for seed in seeds:
            for normal in range(10):
                x, truth = one_class_set(images, labels, normal, seed)
                fit, score = reference_split(truth, protocol, seed)
                ours = AnomalyDetector(random_state=seed).fit(x[fit])
                results[protocol]["toolkit"].append(
                    roc_auc_score(truth[score], ours.decision_function(x[score])))
                pixels = x.reshape(len(x), -1).astype(float) / 255.0
                for name in PYOD:
                    theirs = pyod_detector(name, pixels.shape[1], seed).fit(pixels[fit])
                    results[protocol][name].append(
                        roc_auc_score(truth[score], theirs.decision_function(pixels[score])))
                print(f"[{protocol} digit {normal} seed {seed}] " + " ".join(
                    f"{k}={v[-1]:.3f}" for k, v in results[protocol].items()), flush=True)
    return results


def utility(seeds: list[int], backends: list[str]) -> list[dict[str, float]]:
    """Accuracy on real test images of classifiers trained on real vs synthetic images,
    for each backend's preset."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import train_test_split

    images, labels = digits()
    rows = []
    for seed in seeds:
        train_x, test_x, train_y, test_y = train_test_split(
            images, labels, test_size=0.3, stratify=labels, random_state=seed)
        real = HistGradientBoostingClassifier(random_state=seed).fit(
            train_x.reshape(len(train_x), -1), train_y)
        for backend in backends:
            rows.append(_synthetic_utility(backend, seed, train_x, train_y, test_x, test_y,
                                           real))
            print(f"[utility {backend} seed {seed}] {rows[-1]}", flush=True)
    return rows


def _synthetic_utility(backend: str, seed: int, train_x: np.ndarray, train_y: np.ndarray,
                       test_x: np.ndarray, test_y: np.ndarray, real: Any) -> dict[str, Any]:
    """Fit one backend on the training images; test a classifier trained on its images."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from toolkit import Synthesizer
    from toolkit.adapters.imaging import image_set_from_array

    model, fit_s = timed(lambda: Synthesizer(config=PRESETS[backend], random_state=seed).fit(
        image_set_from_array(train_x, train_y)))
    _, sample_s = timed(lambda: model.sample(SPEED_IMAGES))
    images_per_s = SPEED_IMAGES / sample_s
    per_class = [model.sample(int((train_y == c).sum()), conditions={"label": str(c)})
                 for c in range(10)]
    fake_x = np.concatenate([p.images for p in per_class])
    fake_y = np.concatenate([[int(v) for v in p.labels] for p in per_class])
    synthetic = HistGradientBoostingClassifier(random_state=seed).fit(
        fake_x.reshape(len(fake_x), -1), fake_y)
    flat = test_x.reshape(len(test_x), -1)
    return {"backend": backend, "seed": seed,
            "real": float((real.predict(flat) == test_y).mean()),
            "synthetic": float((synthetic.predict(flat) == test_y).mean()),
            "fit_s": fit_s, "images_per_s": images_per_s}


def detection_table(detect: dict[str, list[float]]) -> list[str]:
    """One protocol's AUROC table and its verdict."""
    means = {k: float(np.mean(v)) for k, v in detect.items()}
    best = max(PYOD, key=lambda k: means[k])
    return [
        md_table(["detector", "mean AUROC", "min", "ratio to best PyOD"], [
            [k if k != "toolkit" else "**toolkit (default)**", f"{means[k]:.3f}",
             f"{min(detect[k]):.3f}", f"{means[k] / means[best]:.3f}"]
            for k in ("toolkit", *PYOD)]),
        "",
        f"Target (ours ≥ PyOD's best, {best}): "
        f"**{'pass' if means['toolkit'] >= means[best] else 'FAIL'}**.",
        "",
    ]


def report(detect: dict[str, dict[str, list[float]]], useful: list[dict[str, float]],
           seeds: list[int], command: str) -> str:
    """The markdown section: (a) AUROC per protocol and detector, (b) utility and (c) speed
    per backend."""
    by_backend = {b: [r for r in useful if r["backend"] == b] for b in
                  dict.fromkeys(r["backend"] for r in useful)}
    lines = [
        "## Images: anomaly detection and synthetic-image utility (scikit-learn digits, 8×8)",
        "",
        f"Reproduce: `{command}`. Machine: {machine_desc(machine_info())}; toolkit commit "
        f"{git_revision()}, PyOD {pkg_version('pyod')}, same run.",
        "",
        f"### (a) One class vs rest, AUROC (10 digits × seeds {seed_list(seeds)})",
        "",
        "Inliers: every image of one digit; anomalies: a seeded sample of the other digits, 5 % "
        "of the inliers' count. Ours on the images, PyOD on the flattened pixels, default "
        "parameters.",
        "",
        "Unsupervised (ADBench): fit on all without labels, score the same images.",
        "",
        *detection_table(detect["unsupervised"]),
        "Clean reference: fit on a seeded 60 % of the inliers, score the other inliers and "
        "every anomaly.",
        "",
        *detection_table(detect["clean"]),
        "### (b) Utility of synthetic images, (c) speed",
        "",
        "A classifier (HistGradientBoosting on pixels) trained on the real 70 % vs on as many "
        "class-conditional synthetic images from each backend (its preset, trained on the same "
        "70 %), both tested on the real 30 %.",
        "",
        md_table(["backend", "accuracy: trained on real", "trained on synthetic", "ratio",
                   "fit s", "images/s sampled"], [
            [b, f"{np.mean([r['real'] for r in rows]):.3f}",
             f"{np.mean([r['synthetic'] for r in rows]):.3f}",
             f"{np.mean([r['synthetic'] for r in rows]) / np.mean([r['real'] for r in rows]):.3f}",
             f"{np.mean([r['fit_s'] for r in rows]):.1f}",
             f"{np.mean([r['images_per_s'] for r in rows]):,.0f}"]
            for b, rows in by_backend.items()]),
        "",
        "Means over the seeds; per seed: " + "; ".join(
            f"{r['backend']} seed {r['seed']}: {r['synthetic']:.3f} / {r['real']:.3f}"
            for r in useful) + ".",
        "",
        "Presets: " + ", ".join(f"{b} `{p}`" for b, p in PRESETS.items()) + ". The GAN and the "
        "VAE-GAN judge images with a convolutional (projection) discriminator.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    """Run the benchmark; returns a process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--reuse-detection", action="store_true",
                        help="take part (a) from results/images_detection.json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    set_threads(N_THREADS)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.reuse_detection and CACHE.exists():
        cached = json.loads(CACHE.read_text())
        if cached["seeds"] != seeds or set(cached["results"]) != set(PROTOCOLS):
            raise SystemExit(f"cached detection results are for seeds {cached['seeds']} "
                             f"and protocols {sorted(cached['results'])}")
        detect = cached["results"]
    else:
        detect = detection(seeds)
        CACHE.parent.mkdir(exist_ok=True)
        CACHE.write_text(json.dumps({"seeds": seeds, "date": dt.date.today().isoformat(),
                                     "results": detect}, indent=1) + "\n")
    command = module_command("images", ["--seeds", args.seeds] if args.seeds != "0,1,2" else [])
    body = report(detect, utility(seeds, BACKENDS), seeds, command)
    print(body)
    if not args.no_write:
        write_section(args.out, body, START, END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
