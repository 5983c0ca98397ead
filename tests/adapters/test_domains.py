"""adapters/domains.py: a model file's adapter ``type`` names the class that rebuilds it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from toolkit.adapters.domains import ADAPTERS, adapter_from_dict
from toolkit.adapters.imaging import ImageAdapter, image_set_from_array
from toolkit.adapters.tabular import TabularAdapter


def test_every_adapter_type_maps_to_its_class():
    assert {"tabular": TabularAdapter, "image": ImageAdapter} == ADAPTERS


def test_a_table_adapter_comes_back_from_its_json_and_decodes_alike(patients):
    adapter = TabularAdapter(random_state=0).fit(patients)
    rebuilt = adapter_from_dict(json.loads(json.dumps(adapter.to_dict())))
    assert isinstance(rebuilt, TabularAdapter)
    tensor = adapter.transform(patients.head(20), random_state=0)
    pd.testing.assert_frame_equal(rebuilt.inverse_transform(tensor, random_state=0),
                                  adapter.inverse_transform(tensor, random_state=0))


def test_an_image_adapter_comes_back_as_an_image_adapter():
    images = image_set_from_array(np.random.default_rng(0).integers(0, 255, (6, 4, 4),
                                                                    dtype=np.uint8))
    adapter = ImageAdapter().fit(images)
    rebuilt = adapter_from_dict(json.loads(json.dumps(adapter.to_dict())))
    assert isinstance(rebuilt, ImageAdapter)
    assert np.array_equal(rebuilt.transform(images), adapter.transform(images))


def test_a_state_without_a_type_is_a_table_adapter(patients):
    state = TabularAdapter(random_state=0).fit(patients.head(50)).to_dict()
    state.pop("type", None)
    assert isinstance(adapter_from_dict(state), TabularAdapter)


def test_an_unknown_type_is_a_key_error():
    with pytest.raises(KeyError, match="audio"):
        adapter_from_dict({"type": "audio"})
