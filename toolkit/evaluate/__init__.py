"""Judging a synthetic table: the quality-and-privacy report, its HTML page, realism
(detection, precision/recall, membership inference), backend comparison and latent-space views."""
