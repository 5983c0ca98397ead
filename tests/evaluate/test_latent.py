"""toolkit.evaluate.latent: encode, decode, reconstruct, interpolate and the influence of each
latent dimension, on tables and images."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import Synthesizer
from toolkit.exceptions import UsageError

# latent space: encode, decode, reconstruct, interpolate, influence ----------------------------


def test_encode_decode_tables(fitted, _patients_frame):
    from toolkit.evaluate import latent

    codes = latent.encode(fitted, _patients_frame.head(7))
    assert codes.shape == (7, fitted.config_.latent_dim)
    decoded = latent.decode(fitted, codes)
    assert list(decoded.columns) == list(_patients_frame.columns) and len(decoded) == 7
    assert np.array_equal(latent.encode(fitted, _patients_frame.head(7)), codes)


def test_interpolation_starts_and_ends_at_the_reconstructions(fitted, _patients_frame):
    from toolkit.evaluate import latent

    a, b = _patients_frame.iloc[[0]], _patients_frame.iloc[[1]]
    path = latent.interpolate(fitted, a, b, steps=5)
    assert len(path) == 5
    ends = latent.reconstruct(fitted, pd.concat([a, b]))
    pd.testing.assert_frame_equal(  # IDs are always fresh, so they are left out
        path.iloc[[0, -1]].drop(columns="id").reset_index(drop=True),
        ends.drop(columns="id").reset_index(drop=True))


def test_influence_has_one_row_per_latent_dimension(fitted, digits_model):
    from toolkit.evaluate import latent

    table = latent.influence(fitted)
    assert table.shape[0] == fitted.config_.latent_dim
    assert "age" in table.columns and (table.to_numpy() >= 0).all()
    images = latent.influence(digits_model)
    assert images.shape[1] == 64 + 1  # 8x8 pixels and the label


def test_gan_cannot_encode(_patients_frame):
    from toolkit.evaluate import latent

    gan = Synthesizer(config="gan", epochs=1, random_state=0).fit(_patients_frame)
    with pytest.raises(UsageError, match="gan backend cannot encode records"):
        latent.encode(gan, _patients_frame.head(2))
    assert latent.influence(gan).shape[0] == gan.config_.latent_dim  # decoding works
