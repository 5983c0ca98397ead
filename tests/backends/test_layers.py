"""Network pieces (toolkit.backends.layers): MLPs, convolutional nets, critics, output heads."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from toolkit.adapters.base import Block, TensorSpec
from toolkit.backends.layers import (
    ConvDecoder,
    ConvDiscriminator,
    ConvEncoder,
    Discriminator,
    OutputHeads,
    discriminator_for,
    encoder_for,
    generator_for,
    gradient_penalty,
    image_block,
    mlp,
    output_bias_owner,
    random_like,
)

#: a small mixed table: a plain number, a number with 2 modes, two categoricals of width 2
#: and 3, a missing flag and another width-2 categorical (grouped with the first)
TABLE = TensorSpec((
    Block("age", "numeric", 1),
    Block("bili", "numeric", 3, n_modes=2),
    Block("sex", "categorical", 2),
    Block("stage", "categorical", 3),
    Block("age_missing", "missing", 1),
    Block("trt", "categorical", 2),
))
#: an 8x8 grey image and a 3-level label
IMAGES = TensorSpec((Block("label", "categorical", 3), Block("pixels", "image", 64,
                                                              shape=(1, 8, 8))))
ONE_HOTS = {"bili": slice(2, 4), "sex": slice(4, 6), "stage": slice(6, 9), "trt": slice(10, 12)}


def table_rows(n: int, seed: int = 0) -> torch.Tensor:
    """Data-space rows laid out as TABLE: valid one-hots, flags, bounded mode scalar."""
    g = torch.Generator().manual_seed(seed)
    columns = [torch.randn(n, 1, generator=g) * 2 + 5,
               torch.rand(n, 1, generator=g) * 1.8 - 0.9]
    for width, probs in ((2, [0.3, 0.7]), (2, [0.5, 0.5]), (3, [0.2, 0.3, 0.5])):
        draws = torch.multinomial(torch.tensor(probs), n, replacement=True, generator=g)
        columns.append(nn.functional.one_hot(draws, width).float())
    columns.append((torch.rand(n, 1, generator=g) < 0.25).float())
    draws = torch.multinomial(torch.tensor([0.9, 0.1]), n, replacement=True, generator=g)
    columns.append(nn.functional.one_hot(draws, 2).float())
    return torch.cat(columns, dim=1)


# MLPs and specs ---------------------------------------------------------------------------
def test_mlp_stacks_linear_activation_dropout_and_a_linear_output():
    net = mlp(5, [16, 8], 3, activation=nn.Tanh, dropout=0.2)
    kinds = [type(layer) for layer in net]
    assert kinds == [nn.Linear, nn.Tanh, nn.Dropout, nn.Linear, nn.Tanh, nn.Dropout, nn.Linear]
    assert [(m.in_features, m.out_features) for m in net if isinstance(m, nn.Linear)] == [
        (5, 16), (16, 8), (8, 3)]
    assert net(torch.zeros(7, 5)).shape == (7, 3)


def test_mlp_without_hidden_layers_or_dropout_is_lean():
    assert [type(m) for m in mlp(4, [], 2)] == [nn.Linear]
    assert nn.Dropout not in {type(m) for m in mlp(4, [6], 2)}
    assert isinstance(mlp(4, [6], 2)[1], nn.SiLU)


def test_image_block_finds_the_pixels_and_their_shape():
    assert image_block(TABLE) is None
    assert image_block(IMAGES) == (slice(3, 67), (1, 8, 8))


def test_factories_choose_convolutions_only_for_images():
    assert isinstance(encoder_for(IMAGES, 6, [16]), ConvEncoder)
    assert isinstance(generator_for(IMAGES, 4, [16]), ConvDecoder)
    assert isinstance(discriminator_for(IMAGES, [16], extra_dim=3), ConvDiscriminator)
    encoder, generator = encoder_for(TABLE, 6, [16]), generator_for(TABLE, 4, [16])
    assert isinstance(encoder, nn.Sequential) and encoder(torch.zeros(2, 12)).shape == (2, 6)
    assert isinstance(generator, nn.Sequential) and generator(torch.zeros(2, 4)).shape == (2, 12)
    critic = discriminator_for(TABLE, [16, 8], extra_dim=5, pac=2)
    assert isinstance(critic, Discriminator) and critic.pac == 2
    assert critic.body[0].in_features == 2 * (12 + 5)


def test_output_bias_owner_is_the_last_linear_or_the_conv_decoder():
    generator = generator_for(TABLE, 4, [16])
    assert output_bias_owner(generator) is generator[-1]
    decoder = generator_for(IMAGES, 4, [16])
    assert output_bias_owner(decoder) is decoder


# convolutional networks -------------------------------------------------------------------
def test_conv_encoder_reads_pixels_and_the_other_columns():
    torch.manual_seed(0)
    encoder = ConvEncoder(IMAGES, out_dim=6, channels=4)
    x = torch.rand(5, IMAGES.width)
    assert encoder(x).shape == (5, 6) and encoder.hidden(x).shape == (5, 256)
    assert encoder.others == [0, 1, 2]
    relabelled = x.clone()
    relabelled[:, :3] = torch.tensor([0.0, 0.0, 1.0])
    assert not torch.allclose(encoder(x), encoder(relabelled))  # the label is read


def test_conv_networks_handle_non_square_images():
    spec = TensorSpec((Block("pixels", "image", 3 * 12 * 8, shape=(3, 12, 8)),))
    torch.manual_seed(0)
    encoder, decoder = ConvEncoder(spec, out_dim=2, channels=4), ConvDecoder(spec, 5, channels=4)
    assert encoder.others == [] and encoder(torch.rand(2, spec.width)).shape == (2, 2)
    assert decoder(torch.randn(2, 5)).shape == (2, spec.width)


def test_conv_decoder_outputs_other_parts_first_then_pixels():
    torch.manual_seed(0)
    decoder = ConvDecoder(IMAGES, in_dim=4, channels=4)
    z = torch.randn(3, 4)
    out = decoder(z)
    assert out.shape == (3, IMAGES.width) and decoder.n_others == 3
    with torch.no_grad():
        decoder.bias[:3] = 100.0
    assert torch.all(decoder(z)[:, :3] > 50) and torch.all(decoder(z)[:, 3:] < 50)
    pixels_only = ConvDecoder(TensorSpec((IMAGES.blocks[1],)), in_dim=4, channels=4)
    assert pixels_only.others is None and pixels_only(z).shape == (3, 64)


# critics ----------------------------------------------------------------------------------
def test_discriminator_judges_packed_rows_together():
    torch.manual_seed(0)
    critic = Discriminator(in_dim=3, hidden_dims=[8, 4], pac=5).eval()
    x = torch.randn(10, 3)
    assert critic(x).shape == (2,) and critic.features(x).shape == (2, 4)
    changed = x.clone()
    changed[7] += 1.0  # a row of the second pack
    scores, moved = critic(x), critic(changed)
    assert scores[0] == moved[0] and scores[1] != moved[1]
    with pytest.raises(RuntimeError):
        critic(torch.randn(9, 3))  # not a multiple of pac


def test_discriminator_dropout_is_off_in_eval_mode():
    torch.manual_seed(0)
    critic = Discriminator(in_dim=3, hidden_dims=[32, 16])
    x = torch.randn(6, 3)
    critic.eval()
    assert torch.equal(critic(x), critic(x))
    critic.train()
    assert not torch.equal(critic(x), critic(x))


class PackedLinear(nn.Module):
    """A linear critic ``w . packed_row``: its gradient norm is ``||w||`` everywhere."""

    def __init__(self, weight: torch.Tensor, pac: int) -> None:
        super().__init__()
        self.weight, self.pac = weight, pac

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1, x.shape[1] * self.pac) @ self.weight


@pytest.mark.parametrize("pac", [1, 3])
def test_gradient_penalty_of_a_linear_critic_is_exact(pac):
    torch.manual_seed(0)
    weight = torch.tensor([3.0, 4.0, 0.0] * pac) / math.sqrt(pac)  # norm 5
    critic = PackedLinear(weight, pac)
    real, fake = torch.randn(6, 3), torch.randn(6, 3)
    assert float(gradient_penalty(critic, real, fake)) == pytest.approx((5.0 - 1.0) ** 2)


def test_gradient_penalty_is_zero_for_a_unit_gradient_and_differentiable():
    weight = torch.tensor([0.6, 0.8], requires_grad=True)
    critic = PackedLinear(weight, 1)
    penalty = gradient_penalty(critic, torch.randn(4, 2), torch.randn(4, 2))
    assert float(penalty.detach()) == pytest.approx(0.0, abs=1e-10)
    scaled = gradient_penalty(PackedLinear(weight * 2, 1), torch.randn(4, 2), torch.randn(4, 2))
    scaled.backward()  # create_graph=True: the penalty trains the critic
    assert weight.grad is not None and float(weight.grad.norm()) > 0


# noise ------------------------------------------------------------------------------------
def test_random_like_is_seeded_and_draws_the_asked_distribution():
    a = random_like((2000,), torch.Generator().manual_seed(1), torch.device("cpu"))
    b = random_like((2000,), torch.Generator().manual_seed(1), torch.device("cpu"))
    assert torch.equal(a, b) and a.min() >= 0 and a.max() < 1
    normal = random_like((2000,), torch.Generator().manual_seed(1), torch.device("cpu"),
                         normal=True)
    assert normal.min() < 0 and abs(float(normal.mean())) < 0.1
    assert abs(float(normal.std()) - 1) < 0.1
    assert random_like((3, 2), None, torch.device("cpu")).shape == (3, 2)


# output heads -----------------------------------------------------------------------------
def test_heads_group_the_raw_layout_by_kind_and_width():
    heads = OutputHeads(TABLE)
    assert (heads.n_scalars, heads.n_flags, heads.n_pixels) == (2, 1, 0)
    assert heads.groups == [(2, 3, 2), (8, 1, 3)]  # three width-2 one-hots, then one of 3
    assert heads._order.tolist() == [0, 1, 2, 3, 4, 5, 10, 11, 6, 7, 8, 9]
    assert torch.equal(heads._order[heads._inverse], torch.arange(12))


def test_row_losses_are_the_sum_of_block_losses():
    torch.manual_seed(0)
    heads = OutputHeads(TABLE)
    raw, target = torch.randn(6, 12), table_rows(6)
    blocks = heads.block_losses(raw, target)
    assert blocks.shape == (6, len(TABLE.blocks))
    assert torch.allclose(blocks.sum(1), heads.row_losses(raw, target))
    assert (blocks[:, 2:] >= 0).all()  # cross-entropies; Gaussian NLLs can be negative


def test_a_gaussian_scalar_at_its_mean_costs_log_sigma_plus_half_log_two_pi():
    spec = TensorSpec((Block("x", "numeric", 1),))
    heads = OutputHeads(spec)
    target = torch.tensor([[2.0], [-1.0]])
    losses = heads.row_losses(target.clone(), target)
    assert torch.allclose(losses, torch.full((2,), math.log(0.1) + 0.5 * math.log(2 * math.pi)))
    one_sigma_off = heads.row_losses(target + 0.1, target) - losses
    assert torch.allclose(one_sigma_off, torch.full((2,), 0.5))


def test_confident_correct_logits_cost_almost_nothing_wrong_ones_a_lot():
    spec = TensorSpec((Block("sex", "categorical", 2), Block("gone", "missing", 1)))
    heads = OutputHeads(spec)
    target = torch.tensor([[1.0, 0.0, 1.0]])
    right = torch.tensor([[20.0, -20.0, 20.0]])  # grouped layout: one-hot, then flag
    wrong = -right
    assert float(heads.row_losses(right, target)) < 1e-6
    assert float(heads.row_losses(wrong, target)) > 39


def test_bounded_scalars_are_tanh_of_the_raw_output():
    heads = OutputHeads(TABLE)
    raw = torch.zeros(1, 12)
    raw[0, :2] = torch.tensor([3.0, 3.0])  # age (unbounded), bili (has modes: bounded)
    means = heads.expected(raw)
    assert float(means[0, 0]) == pytest.approx(3.0)
    assert float(means[0, 1]) == pytest.approx(math.tanh(3.0))


def test_marginal_initialisation_reproduces_the_data_marginals():
    data = table_rows(400)
    heads = OutputHeads(TABLE)
    bias = heads.init_from_marginals(data)
    assert bias.shape == (12,)
    expected = heads.expected(bias[None, :])[0]
    marginals = data.mean(0)
    for columns in ONE_HOTS.values():
        assert torch.allclose(expected[columns], marginals[columns], atol=0.01)
    assert float(expected[0]) == pytest.approx(float(marginals[0]), rel=1e-5)  # age's mean
    assert float(expected[9]) == pytest.approx(float(marginals[9]), abs=1e-4)  # missing rate
    spread = float(data[:, 0].std(correction=0))
    assert float(heads.log_sigma[0].detach().exp()) == pytest.approx(spread, rel=1e-4)


def test_marginal_initialisation_of_a_constant_scalar_keeps_a_positive_scale():
    heads = OutputHeads(TensorSpec((Block("x", "numeric", 1),)))
    heads.init_from_marginals(torch.full((10, 1), 7.0))
    assert float(heads.log_sigma.detach().exp()) == pytest.approx(1e-2)


def test_expected_rows_are_probabilities_in_the_spec_layout():
    torch.manual_seed(0)
    heads = OutputHeads(TABLE)
    expected = heads.expected(torch.randn(5, 12) * 4)
    for columns in ONE_HOTS.values():
        assert torch.allclose(expected[:, columns].sum(1), torch.ones(5))
    assert ((expected[:, 9] > 0) & (expected[:, 9] < 1)).all()
    assert (expected[:, 1].abs() <= 1).all()


def test_samples_are_valid_rows_and_follow_the_seed():
    torch.manual_seed(0)
    heads = OutputHeads(TABLE)
    raw = torch.randn(50, 12)
    a = heads.sample(raw, torch.Generator().manual_seed(5))
    b = heads.sample(raw, torch.Generator().manual_seed(5))
    c = heads.sample(raw, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    for columns in ONE_HOTS.values():
        block = a[:, columns]
        assert set(block.flatten().tolist()) <= {0.0, 1.0} and (block.sum(1) == 1).all()
    assert set(a[:, 9].tolist()) <= {0.0, 1.0}
    assert (a[:, 1].abs() <= 1).all()


def test_sampled_levels_follow_the_softmax():
    spec = TensorSpec((Block("stage", "categorical", 3),))
    heads = OutputHeads(spec)
    probs = torch.tensor([0.2, 0.3, 0.5])
    raw = probs.log().expand(4000, 3)
    shares = heads.sample(raw, torch.Generator().manual_seed(0)).mean(0)
    assert torch.allclose(shares, probs, atol=0.03)


def test_without_scalar_noise_samples_take_the_mean():
    torch.manual_seed(0)
    heads = OutputHeads(TABLE)
    raw = torch.randn(8, 12)
    quiet = heads.sample(raw, torch.Generator().manual_seed(0), scalar_noise=False)
    noisy = heads.sample(raw, torch.Generator().manual_seed(0))
    assert torch.allclose(quiet[:, :2], heads.expected(raw)[:, :2])
    assert not torch.allclose(noisy[:, 0], quiet[:, 0])


def test_sampled_scalars_are_mapped_onto_the_data_marginal_keeping_their_order():
    heads = OutputHeads(TABLE)
    data = table_rows(4000)
    generated = table_rows(4000, seed=1)
    generated[:, 0] = generated[:, 0] * 3 - 4  # the model's draws: wider and shifted
    heads.calibrate_scalars(data, generated)
    assert heads.scalar_mapped.tolist() == [True, False]  # the mode scalar stays as it is
    raw = torch.randn(20000, 12) * 6 - 4  # means spread like the wide draws
    plain = heads.sample(raw, torch.Generator().manual_seed(0))
    heads.scalar_mapped.zero_()
    unmapped = heads.sample(raw, torch.Generator().manual_seed(0))
    assert torch.equal(plain[:, 1:], unmapped[:, 1:])  # only the mapped scalar moves
    order = torch.argsort(unmapped[:, 0])
    assert (plain[order, 0].diff() >= 0).all()  # monotone: ranks kept
    spread = plain[:, 0]
    assert spread.min() >= data[:, 0].min() - 1e-6 and spread.max() <= data[:, 0].max() + 1e-6


def test_the_scalar_map_turns_the_model_draws_into_the_data_quantiles():
    spec = TensorSpec((Block("x", "numeric", 1), Block("x", "missing", 1)))
    heads = OutputHeads(spec)
    g = torch.Generator().manual_seed(0)
    observed = torch.randn(5000, generator=g) * 2 + 5
    missing = (torch.rand(5000, generator=g) < 0.2).float()
    data = torch.stack([torch.where(missing > 0, torch.zeros(5000), observed), missing], 1)
    drawn = torch.randn(8000, generator=g)
    generated = torch.stack([drawn, (torch.rand(8000, generator=g) < 0.2).float()], 1)
    heads.calibrate_scalars(data, generated)
    mapped = heads._mapped_scalars(torch.randn(20000, 1, generator=g))[:, 0]
    probs = torch.tensor([0.1, 0.5, 0.9])
    # the missing rows' fill value (0) is not part of the target
    assert torch.allclose(torch.quantile(mapped, probs), 5 + 2 * torch.tensor(
        [-1.2816, 0.0, 1.2816]), atol=0.15)


def test_activate_is_differentiable_and_keeps_one_hots_summing_to_one():
    torch.manual_seed(0)
    heads = OutputHeads(TABLE)
    raw = torch.randn(4, 12, requires_grad=True)
    active = heads.activate(raw, tau=0.5)
    assert active.shape == (4, 12)
    for columns in ONE_HOTS.values():
        assert torch.allclose(active[:, columns].sum(1), torch.ones(4))
    active[:, 0].sum().backward()
    assert raw.grad is not None and float(raw.grad[:, 0].abs().sum()) > 0


def test_image_heads_model_pixels_as_bernoulli_means():
    heads = OutputHeads(IMAGES)
    assert heads.n_pixels == 64 and heads.groups == [(0, 1, 3)]
    raw = torch.zeros(2, IMAGES.width)
    raw[:, 3:] = 2.0
    sample = heads.sample(raw, torch.Generator().manual_seed(0))
    assert torch.allclose(sample[:, 3:], torch.full((2, 64), torch.sigmoid(torch.tensor(2.0))))
    target = torch.zeros(2, IMAGES.width)
    target[:, 0] = 1.0
    assert heads.block_losses(raw, target).shape == (2, 2)
