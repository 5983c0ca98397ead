"""toolkit.adapters.rules: rules read, checked, discovered, and kept by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import admissions_table

from toolkit.adapters.kinds import infer_kinds
from toolkit.adapters.rules import Rule, Rules, discover_rules
from toolkit.exceptions import DataError, UsageError

STATED = [{"inequality": ["admitted", "discharged"], "strict": True},
          {"inequality": ["diastolic", "systolic"]},
          {"combination": ["city", "country"]},
          {"positive": "diastolic"},
          {"range": "systolic", "min": 0, "max": 300},
          {"expression": "systolic - diastolic < 200"}]


def test_rules_read_write_and_say_themselves():
    rules = [Rule.from_dict(entry) for entry in STATED]
    assert [Rule.from_dict(rule.to_dict()) for rule in rules] == rules
    assert [str(rule) for rule in rules] == [
        "admitted < discharged", "diastolic ≤ systolic",
        "only seen combinations of city, country", "diastolic > 0", "0.0 ≤ systolic ≤ 300.0",
        "systolic - diastolic < 200"]
    for bad, message in (({"inequality": ["a"]}, "two columns"),
                         ({"combination": "city"}, "two columns or more"),
                         ({"range": "x", "min": "low"}, "must be numbers"),
                         ({"sum": ["a", "b"]}, "unknown rule"), ("a < b", "is a mapping")):
        with pytest.raises(UsageError, match=message):
            Rule.from_dict(bad)


def test_discovered_rules_hold_on_every_row_and_say_something():
    table = admissions_table()
    found = {str(rule) for rule in discover_rules(table, infer_kinds(table, {})[0])}
    assert found == {"admitted < discharged", "diastolic < systolic",
                     "only seen combinations of city, country"}
    # disjoint ranges say nothing (age is always below cholesterol): not drafted
    other = pd.DataFrame({"age": np.linspace(20, 80, 50), "chol": np.linspace(150, 300, 50)})
    assert discover_rules(other, {"age": "continuous", "chol": "continuous"}) == []


def test_forward_and_inverse_round_trip_the_table_exactly():
    table = admissions_table()
    rules = Rules.from_metadata({"rules": STATED})
    learnt = rules.forward(table)
    assert "country" not in learnt and learnt["discharged"].dtype == float
    assert (learnt["discharged"] > 0).all()  # a stay's length, in seconds
    back = rules.inverse(learnt)
    pd.testing.assert_frame_equal(back, table)  # date-times to the second, types kept
    assert rules.violations(back) == {str(r): 0 for r in rules.rules}
    broken = back.copy()
    broken.loc[:9, "country"] = "Italy"  # Lyon, Paris, ... in Italy
    broken.loc[:4, "discharged"] = broken.loc[:4, "admitted"] - pd.Timedelta("1h")
    counts = rules.violations(broken)
    assert counts["admitted < discharged"] == 5
    assert 0 < counts["only seen combinations of city, country"] <= 10
    assert Rules.from_dict(rules.to_dict()).violations(broken) == counts


def test_rules_the_data_breaks_or_cannot_have_are_refused():
    table = admissions_table()
    with pytest.raises(DataError, match="'systolic ≤ diastolic' is broken by 600 real rows"):
        Rules.from_metadata({"rules": [{"inequality": ["systolic", "diastolic"]}]}).forward(table)
    with pytest.raises(UsageError, match="names 'pulse', which is not a column"):
        Rules.from_metadata({"rules": [{"positive": "pulse"}]}).forward(table)
    with pytest.raises(UsageError, match="two numbers or two date-times"):
        Rules.from_metadata({"rules": [{"inequality": ["diastolic", "admitted"]}]}).check(table)
    with pytest.raises(UsageError, match="upper side of two inequalities"):
        Rules.from_metadata({"rules": [{"inequality": ["a", "c"]}, {"inequality": ["b", "c"]}]})
    with pytest.raises(UsageError, match="must be a list"):
        Rules.from_metadata({"rules": {"positive": "x"}})
    with pytest.raises(UsageError, match="cannot be evaluated"):
        Rules.from_metadata({"rules": [{"expression": "pulse >"}]}).check(table)
