"""The MCMC samplers and the replay buffer of scratch_gen/ebm on the CUDA target.

Chains live where the energy lives. Each check runs a sampler twice from the same host
start and the same rng seed, with the energy on the CPU and on 'cuda', and asks for the
same chains; on 'cuda' it runs in strict mode, so any implicit copy of a device array to
the host (the old code copied the chains back every step) fails the test. The random
draws stay on the host in both runs (uploaded on 'cuda'), which is why the two runs can
be compared number for number.
"""
import numpy as np
import pytest

import autograd.backend as backend
from autograd.backend import cuda as C
from scratch_gen.ebm import mcmc
from scratch_gen.ebm.energies import MLPEnergy, QuadraticEnergy

from cudatest import host


def on(device, build):
    backend.use_device(device)
    try:
        return build()
    finally:
        backend.use_device("cpu")


def mlp():
    return MLPEnergy(dim=2, hidden=4, depth=1, rng=np.random.default_rng(0),
                     dtype=np.float64)


@pytest.mark.parametrize("sampler", ["langevin", "mala"])
def test_continuous_chains_stay_on_the_device_and_match_the_cpu(sampler):
    start = np.random.default_rng(1).uniform(-2, 2, size=(3, 2))
    want = mcmc.run_sampler(sampler, on("cpu", mlp), start, 3, 0.05,
                            np.random.default_rng(2), keep_path=True)
    energy = on("cuda", mlp)
    with C.strict():
        got = mcmc.run_sampler(sampler, energy, start, 3, 0.05, np.random.default_rng(2),
                               keep_path=True)
    assert isinstance(got[0], C.DeviceArray) and isinstance(got[2], C.DeviceArray)
    np.testing.assert_allclose(host(got[0]), want[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(host(got[2]), want[2], rtol=1e-10, atol=1e-12)
    assert got[1] == want[1]                       # MALA's acceptance rate (None: ULA)


def test_gibbs_sweeps_on_the_device_match_the_cpu():
    quad = lambda: QuadraticEnergy(3, rng=np.random.default_rng(0), dtype=np.float64,  # noqa
                                   init_scale=1.0)
    want = mcmc.gibbs_sample(on("cpu", quad), 4, 2, np.random.default_rng(5))
    energy = on("cuda", quad)
    with C.strict():
        got = mcmc.gibbs_sample(energy, 4, 2, np.random.default_rng(5))
    assert isinstance(got, C.DeviceArray)
    np.testing.assert_array_equal(host(got), want)
    x = want.copy()                                 # host chains, device energy:
    mcmc.gibbs_sweep(energy, x, np.random.default_rng(6))   # updated in place, once
    y = want.copy()
    mcmc.gibbs_sweep(on("cpu", quad), y, np.random.default_rng(6))
    np.testing.assert_array_equal(x, y)


def test_replay_buffer_lives_on_the_device_and_repeated_puts_keep_the_last():
    def buffer_after_a_round(device):
        rng = np.random.default_rng(3)
        buf = on(device, lambda: mcmc.ReplayBuffer(5, [-1, -1], [1, 1], rng))
        x, idx = buf.draw(8, rng, reinit=0.3)       # 8 draws from 5 slots: repeats
        assert len(set(idx.tolist())) < len(idx)
        buf.put(idx, x + 10.0 * np.arange(8, dtype=np.float32)[:, None])
        return buf.x
    want = buffer_after_a_round("cpu")
    with C.strict():
        got = buffer_after_a_round("cuda")
    assert isinstance(got, C.DeviceArray)
    np.testing.assert_array_equal(host(got), want)   # NumPy's rule: the last write wins
