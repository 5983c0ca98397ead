"""adapters/base.py: the TensorSpec contract between adapters and backends, the provenance that
reading hands to fitting, and the Adapter protocol both adapters meet."""

from __future__ import annotations

import json

import numpy as np
import pytest

from toolkit.adapters.base import BLOCK_KINDS, Adapter, Block, Provenance, TensorSpec
from toolkit.adapters.imaging import ImageAdapter, image_set_from_array
from toolkit.adapters.tabular import TabularAdapter


def test_spec_width_and_slices_follow_the_blocks():
    spec = TensorSpec((Block("age", "numeric", 1), Block("sex", "categorical", 2),
                       Block("age", "missing", 1)))
    assert spec.width == 4
    assert spec.slices() == [slice(0, 1), slice(1, 3), slice(3, 4)]


@pytest.mark.parametrize(("kind", "width", "message"), [
    ("tabular", 1, "unknown block kind 'tabular'; valid kinds: "),
    ("numeric", 0, "block 'x' must have a positive width"),
])
def test_block_rejects_unknown_kind_and_empty_width(kind, width, message):
    with pytest.raises(ValueError, match=message):
        Block("x", kind, width)


def test_every_block_kind_round_trips_through_json_with_its_shape():
    spec = TensorSpec((Block("dose", "numeric", 4, n_modes=3), Block("ward", "categorical", 5),
                       Block("dose", "missing", 1), Block("scan", "image", 64, shape=(1, 8, 8))))
    assert {block.kind for block in spec.blocks} == set(BLOCK_KINDS)
    back = TensorSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert back == spec and back.blocks[3].shape == (1, 8, 8) and back.width == 74


def test_an_empty_spec_has_no_columns():
    assert TensorSpec(()).width == 0 and TensorSpec(()).slices() == []


def test_provenance_defaults_to_a_whole_source_without_a_dialect():
    provenance = Provenance()
    assert (provenance.rows, provenance.statistics, provenance.labels) == (None, None, None)
    assert provenance.dialect == {} and Provenance().dialect is not provenance.dialect


def test_both_adapters_meet_the_protocol_and_their_spec_fits_their_tensor(patients):
    table = TabularAdapter(random_state=0).fit(patients)
    images = image_set_from_array(np.zeros((4, 8, 8), dtype=np.uint8))
    image = ImageAdapter().fit(images)
    for adapter, records in ((table, patients), (image, images)):
        assert isinstance(adapter, Adapter)
        assert adapter.transform(records).shape[1] == adapter.spec.width
    assert image.spec.blocks[-1].kind == "image" and image.spec.blocks[-1].shape == (1, 8, 8)
