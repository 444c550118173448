"""The multi-draw Gumbel-softmax: exact gradients, sample statistics, flat memory in the draws."""

import math
import subprocess
import sys

import pytest
import torch

from graphdistill.core.errors import UserError
from graphdistill.core.relaxed import annealed_temperature, binary_concrete, multi_gumbel_softmax

LAYOUTS = ("shared", "independent")


@pytest.mark.parametrize("noise", LAYOUTS)
def test_gradient_matches_finite_differences(noise):
    logits = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: multi_gumbel_softmax(t, 7, 0.7, seed=3, chunk=3, noise=noise), (logits,))


@pytest.mark.parametrize("noise", LAYOUTS)
def test_rows_sum_to_draws_and_seed_fixes_the_noise(noise):
    logits = torch.randn(4, 9)
    a = multi_gumbel_softmax(logits, 50, 0.5, seed=1, noise=noise)
    assert torch.allclose(a.sum(1), torch.full((4,), 50.0), atol=1e-3)
    assert torch.equal(a, multi_gumbel_softmax(logits, 50, 0.5, seed=1, noise=noise))
    assert not torch.equal(a, multi_gumbel_softmax(logits, 50, 0.5, seed=2, noise=noise))
    # the chunking is an implementation detail only for the shared layout's noise order
    if noise == "shared":
        assert torch.allclose(a, multi_gumbel_softmax(logits, 50, 0.5, seed=1, chunk=50, noise=noise), atol=1e-4)


def test_sample_statistics():
    torch.manual_seed(0)
    logits = torch.randn(3, 5) * 2
    # Gumbel-max limit: at a small temperature every draw is ~one-hot, drawn from softmax(logits)
    freq = multi_gumbel_softmax(logits, 20_000, 0.02, seed=0) / 20_000
    assert torch.allclose(freq, torch.softmax(logits, -1), atol=0.01)
    # the two layouts have the same per-row mean at any temperature
    shared = multi_gumbel_softmax(logits, 20_000, 1.0, seed=1, noise="shared") / 20_000
    independent = multi_gumbel_softmax(logits, 20_000, 1.0, seed=2, noise="independent") / 20_000
    assert torch.allclose(shared, independent, atol=0.01)
    # a large temperature flattens the rows towards uniform
    flat = multi_gumbel_softmax(logits, 100, 1e4, seed=3) / 100
    assert torch.allclose(flat, torch.full_like(flat, 0.2), atol=1e-3)


PEAK = """
import resource, sys, torch
from graphdistill.core.relaxed import annealed_temperature, binary_concrete, multi_gumbel_softmax
torch.set_num_threads(1)
logits = torch.randn(int(sys.argv[3]), int(sys.argv[4]), requires_grad=True)
multi_gumbel_softmax(logits, int(sys.argv[1]), 10.0, seed=0, chunk=8, noise=sys.argv[2]).clamp(max=1).sum().backward()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def peak_rss_mib(draws: int, noise: str, rows: int, items: int) -> float:
    command = [sys.executable, "-c", PEAK, str(draws), noise, str(rows), str(items)]
    return float(subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()[-1])


def test_peak_memory_is_flat_in_the_number_of_draws():
    # Distill-CF's setting: keeping 200 draws of 200 x 4000 for the backward pass would take 610 MiB
    few, many = peak_rss_mib(10, "shared", 200, 4000), peak_rss_mib(200, "shared", 200, 4000)
    assert many - few < 40, (few, many)
    # independent noise, 50 vs 1000 draws of 100 x 2000 (all kept: 760 MiB more)
    few, many = peak_rss_mib(50, "independent", 100, 2000), peak_rss_mib(1000, "independent", 100, 2000)
    assert many - few < 40, (few, many)


def test_bad_arguments():
    with pytest.raises(UserError, match="temperature"):
        multi_gumbel_softmax(torch.zeros(2, 3), 5, 0.0, seed=0)
    with pytest.raises(UserError, match="draws"):
        multi_gumbel_softmax(torch.zeros(2, 3), 0, 1.0, seed=0)
    with pytest.raises(UserError, match="noise"):
        multi_gumbel_softmax(torch.zeros(2, 3), 5, 1.0, seed=0, noise="fresh")
    with pytest.raises(UserError, match="rows"):
        multi_gumbel_softmax(torch.zeros(3), 5, 1.0, seed=0)


def test_binary_concrete_mean_matches_sigmoid_and_gradient_flows():
    logits = torch.tensor([-2.0, -0.5, 0.0, 1.0, 3.0], requires_grad=True)
    gen = torch.Generator().manual_seed(0)
    draws = binary_concrete(logits.expand(20000, 5), 0.05, generator=gen)
    assert torch.allclose(draws.mean(0), torch.sigmoid(logits), atol=0.02)
    draws.sum().backward()
    assert torch.isfinite(logits.grad).all() and (logits.grad > 0).all()


def test_binary_concrete_zero_temperature_limit_is_hard_and_straight_through_keeps_gradient():
    logits = torch.randn(50, requires_grad=True)
    soft = binary_concrete(logits, 1e-4, generator=torch.Generator().manual_seed(1))
    assert ((soft < 1e-3) | (soft > 1 - 1e-3)).float().mean() > 0.95
    hard = binary_concrete(logits, 0.5, generator=torch.Generator().manual_seed(1), hard=True)
    assert set(hard.detach().unique().tolist()) <= {0.0, 1.0}
    hard.sum().backward()
    assert logits.grad.abs().sum() > 0


def test_binary_concrete_symmetric_has_zero_diagonal_and_seeded_noise():
    logits = torch.randn(3, 6, 6)
    a = binary_concrete(logits, 0.3, generator=torch.Generator().manual_seed(2), symmetric=True)
    assert torch.allclose(a, a.transpose(-1, -2))
    assert torch.equal(torch.diagonal(a, dim1=-2, dim2=-1), torch.zeros(3, 6))
    assert torch.equal(a, binary_concrete(logits, 0.3, generator=torch.Generator().manual_seed(2), symmetric=True))
    with pytest.raises(UserError, match="temperature"):
        binary_concrete(logits, 0.0)
    with pytest.raises(UserError, match="n, n"):
        binary_concrete(torch.randn(3, 4), 1.0, symmetric=True)


def test_annealed_temperature_schedule():
    assert annealed_temperature(0) == 1.0
    assert math.isclose(annealed_temperature(100), 0.1)
    assert math.isclose(annealed_temperature(200), 0.01) and math.isclose(annealed_temperature(10_000), 0.01)
