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
