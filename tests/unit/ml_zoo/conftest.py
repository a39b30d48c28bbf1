"""Shared data of the conversion tests."""
import pytest


@pytest.fixture
def digits_split():
    """The bundled 8x8 digits as images ``[N, 1, 8, 8]`` in [0, 1], labels, and a fixed 1400 / 397 split."""
    import torch
    from sklearn.datasets import load_digits

    torch.manual_seed(0)
    d = load_digits()
    X = torch.tensor(d.data / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    Y = torch.tensor(d.target)
    perm = torch.randperm(len(X))
    return X, Y, perm[:1400], perm[1400:]


def _cnn(channels=(16, 32)):
    """A conv-BN-ReLU, strided conv-BN-ReLU6, average pool, linear CNN for 8x8 digits: the convertible shape of the
    zoo's depthwise networks, small enough for a unit test."""
    from torch import nn

    c1, c2 = channels
    return nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU(),
                         nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.BatchNorm2d(c2), nn.ReLU6(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c2, 10))


def _fit(m, X, Y, tr, epochs, lr):
    """Adam on cross-entropy over ``X[tr]`` in batches of 100; leaves ``m`` in eval mode."""
    import torch
    from torch import nn

    opt = torch.optim.Adam(m.parameters(), lr)
    for _ in range(epochs):
        m.train()
        for i in range(0, len(tr), 100):
            idx = tr[i:i + 100]
            loss = nn.functional.cross_entropy(m(X[idx]), Y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    m.eval()


def _small_cnn(X, Y, tr, *, channels=(16, 32), epochs=15):
    """:func:`_cnn` trained on the digits ``X[tr]`` from seed 0 (lr 0.01), in eval mode."""
    import torch

    torch.manual_seed(0)
    net = _cnn(channels)
    _fit(net, X, Y, tr, epochs, 1e-2)
    return net


@pytest.fixture
def small_cnn():
    """The trainer of a small convertible CNN (:func:`_small_cnn`)."""
    return _small_cnn


@pytest.fixture
def cnn_kit():
    """``(build, fit)``: :func:`_cnn` and :func:`_fit`, for tests that train the CNN their own way."""
    return _cnn, _fit
