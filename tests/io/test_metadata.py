"""toolkit.io.metadata: metadata YAML files read into the mapping the adapters take."""

from __future__ import annotations

import pytest

from toolkit.exceptions import UsageError
from toolkit.io.metadata import read_metadata


def test_a_yaml_file_is_read_and_mappings_pass_through(tmp_path):
    path = tmp_path / "meta.yaml"
    path.write_text("columns:\n  age: continuous\n  sex: {kind: categorical, values: [f, m]}\n")
    assert read_metadata(path) == {"columns": {"age": "continuous",
                                               "sex": {"kind": "categorical",
                                                       "values": ["f", "m"]}}}
    assert read_metadata(str(path)) == read_metadata(path)
    given = {"age": "integer"}
    assert read_metadata(given) is given and read_metadata(None) is None


def test_an_empty_file_is_no_metadata(tmp_path):
    (tmp_path / "empty.yaml").write_text("")
    assert read_metadata(tmp_path / "empty.yaml") == {}


def test_bad_files_are_one_line(tmp_path):
    with pytest.raises(UsageError, match="metadata file not found"):
        read_metadata(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("columns: [unclosed\n")
    with pytest.raises(UsageError, match="is not valid YAML"):
        read_metadata(tmp_path / "bad.yaml")
