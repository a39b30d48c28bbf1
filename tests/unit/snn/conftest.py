"""Shared fixtures of the snn tests: placeholder neuron parameters and the MNIST folder policy."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from vo2neuro.snn.params import VO2NeuronParams


@pytest.fixture
def p() -> VO2NeuronParams:
    """Placeholder VO2 neuron (Zhang 2024 circuit node C and load; assumed switching voltages)."""
    return VO2NeuronParams(capacitance=145.35e-12, r_leak=12e3, v_bias=0.0, v_th=5.0, v_h=2.0,
                           t_ref=0.5e-6, i_max=2e-3, dt=0.1e-6)


@pytest.fixture(autouse=True)
def _small_torch():
    """One torch thread: these tests use tiny tensors, and on a shared 2-core machine OpenMP spin-waiting
    with 2 threads is many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def mnist_dir() -> Path:
    """$VO2NEURO_DATA/mnist; skip if absent, but fail when VO2NEURO_REQUIRE_DATA=1 (CI)."""
    root = os.environ.get("VO2NEURO_DATA")
    candidates = [Path(root), Path(root) / "mnist"] if root else []
    for c in candidates:
        if (c / "train-images-idx3-ubyte.gz").is_file():
            return c
    msg = f"MNIST not found (VO2NEURO_DATA={root!r})"
    if os.environ.get("VO2NEURO_REQUIRE_DATA") == "1":
        pytest.fail(msg + " but VO2NEURO_REQUIRE_DATA=1")
    pytest.skip(msg)


@pytest.fixture
def killed_and_resumed(tmp_path):
    """``run(kw) -> full Trainer``: train ``TrainConfig(**kw)`` uninterrupted, and again killed right after its first
    checkpoint and resumed; asserts that the resumed run ends with the same history (but wall times) and bit-identical
    weights.

    The kill happens inside ``fit()`` (a KeyboardInterrupt once the first checkpoint is written, what SIGTERM becomes
    in the CLI), so that every epoch of both runs trains under the thread count ``fit()`` sets (``config.threads``):
    the float summation order of the convolution weight gradients depends on it (oneDNN splits that reduction
    across threads), and a first epoch trained outside ``fit()`` would test the caller's thread count instead."""
    from vo2neuro.snn.train import TrainConfig, Trainer

    def run(kw):
        full = Trainer(TrainConfig(out_dir=str(tmp_path / "full"), **kw))
        r_full = full.fit()
        cut = Trainer(TrainConfig(out_dir=str(tmp_path / "cut"), **kw))
        save = cut.save_checkpoint

        def save_then_die():
            save()
            raise KeyboardInterrupt

        cut.save_checkpoint = save_then_die
        with pytest.raises(KeyboardInterrupt):
            cut.fit()
        assert cut.epoch == 1 < kw["epochs"]
        del cut
        resumed = Trainer(TrainConfig(out_dir=str(tmp_path / "cut"), **kw))
        r_res = resumed.fit(resume=True)
        assert r_res.history == [{**h, "epoch_s": b["epoch_s"], "epoch_seconds": b["epoch_seconds"]}
                                 for h, b in zip(r_full.history, r_res.history)]
        for (k, a), (_, b) in zip(full.model.state_dict().items(), resumed.model.state_dict().items()):
            assert torch.equal(a, b), k
        return full

    return run
