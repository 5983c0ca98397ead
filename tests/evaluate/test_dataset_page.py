"""toolkit.evaluate.dataset_page: the dataset report's page and its verdicts."""

from __future__ import annotations

from toolkit.evaluate.dataset_page import relation_verdict, render_dataset


def test_broken_keys_are_poor_whatever_the_classifier_says():
    assert relation_verdict({"integrity": 0.9, "parent_auroc": 0.5})[0] == "poor"
    assert relation_verdict({"integrity": 1.0, "parent_auroc": 0.6})[0] == "good"
    assert relation_verdict({"integrity": 1.0, "parent_auroc": 0.8})[0] == "fair"
    grade, reason = relation_verdict({"integrity": 1.0, "parent_auroc": 0.95,
                                      "parent_auroc_floor": 0.52})
    assert grade == "poor" and "AUROC 0.950 (unseen real parents: 0.520)" in reason


def test_the_page_shows_every_table_and_relationship_and_escapes_names():
    report = {
        "tables": {"<patients>": {"real_rows": 10, "synthetic_rows": 12, "quality": 0.9,
                                  "quality_ceiling": None, "real_keys": 0}},
        "relationships": {"a.id → b.id": {"integrity": 1.0, "cardinality_tv": 0.1}},
        "sdmetrics": {"score": 0.8, "properties": {"Cardinality": 0.9}}}
    page = render_dataset(report)
    assert "&lt;patients&gt;" in page and "<patients>" not in page
    assert "a.id → b.id" in page and "sdmetrics multi-table quality: 0.800" in page
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
