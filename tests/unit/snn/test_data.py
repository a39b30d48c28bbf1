"""Datasets: MNIST idx loader against published counts, file checks on tiny generated idx files, digits split."""
from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from vo2neuro.units import ParameterError
from vo2neuro.snn.data import (DataError, FileSpec, download_file, load_digits, load_mnist, read_idx,
                               verify_file)

# environment.md section 4.1 (LeCun et al.; recomputed on the original files)
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_from_shared_files(mnist_dir):
    train, test = load_mnist(mnist_dir.parent if mnist_dir.name == "mnist" else mnist_dir)
    x, y = train.tensors
    xt, yt = test.tensors
    assert tuple(x.shape) == (60000, 784) and tuple(xt.shape) == (10000, 784)
    assert np.bincount(y.numpy(), minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(yt.numpy(), minlength=10).tolist() == TEST_COUNTS
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert float(x.mean()) * 255 == pytest.approx(33.318, abs=1e-3)  # published mean pixel


def _write_idx_gz(path: Path, array: np.ndarray) -> FileSpec:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())
    raw = path.read_bytes()
    return FileSpec(path.name, len(raw), hashlib.md5(raw).hexdigest())


@pytest.fixture
def tiny(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 4, 4))
    spec = _write_idx_gz(tmp_path / "tiny-images-idx3-ubyte.gz", images)
    return tmp_path, spec, images


def test_tiny_idx_round_trip(tiny):
    folder, spec, images = tiny
    path = verify_file(folder / spec.name, spec)
    assert np.array_equal(read_idx(path), images)


def test_truncated_file_is_a_clear_error(tiny):
    folder, spec, _ = tiny
    path = folder / spec.name
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(DataError) as exc:
        verify_file(path, spec)
    msg = str(exc.value)
    assert str(path) in msg and "truncated" in msg and "\n" not in msg
    with pytest.raises(DataError, match="truncated|not a readable"):
        read_idx(path)  # even without a spec, the parser refuses it


def test_truncated_idx_content_is_a_clear_error(tmp_path):
    path = tmp_path / "short-idx1-ubyte"
    path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 10]) + bytes(range(7)))  # header declares 10, holds 7
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_idx(path)


def test_wrong_md5_is_a_clear_error(tiny):
    folder, spec, _ = tiny
    bad = spec._replace(md5="0" * 32)
    with pytest.raises(DataError) as exc:
        verify_file(folder / spec.name, bad)
    assert spec.name in str(exc.value) and "md5" in str(exc.value) and isinstance(exc.value, ParameterError)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError) as exc:
        load_mnist(tmp_path)  # explicit folder: nothing else is searched, nothing downloaded
    msg = str(exc.value)
    assert "train-images-idx3-ubyte.gz" in msg and "missing" in msg and "--data-dir" in msg


def test_download_verifies_and_is_atomic(tiny, tmp_path_factory):
    """Download through a file:// mirror (no network): good file arrives; a bad mirror leaves nothing."""
    folder, spec, images = tiny
    dest = tmp_path_factory.mktemp("cache")
    got = download_file(spec, dest, mirrors=["file:///nonexistent/", folder.as_uri() + "/"])
    assert np.array_equal(read_idx(got), images)
    dest2 = tmp_path_factory.mktemp("cache2")
    with pytest.raises(DataError, match="could not be downloaded"):
        download_file(spec._replace(md5="f" * 32), dest2, mirrors=[folder.as_uri() + "/"])
    assert list(dest2.iterdir()) == []


def test_load_mnist_downloads_into_cache(tiny, tmp_path, monkeypatch):
    folder, _, _ = tiny
    rng = np.random.default_rng(1)
    specs = {
        "train_images": _write_idx_gz(folder / "a-images.gz", rng.integers(0, 256, (6, 2, 2))),
        "train_labels": _write_idx_gz(folder / "a-labels.gz", np.arange(6) % 3),
        "test_images": _write_idx_gz(folder / "b-images.gz", rng.integers(0, 256, (3, 2, 2))),
        "test_labels": _write_idx_gz(folder / "b-labels.gz", np.arange(3)),
    }
    monkeypatch.delenv("VO2NEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    train, test = load_mnist(specs=specs, mirrors=[folder.as_uri() + "/"])
    assert tuple(train.tensors[0].shape) == (6, 4) and train.tensors[1].tolist() == [0, 1, 2, 0, 1, 2]
    assert (tmp_path / "xdg" / "vo2neuro" / "mnist" / "a-images.gz").is_file()


def test_digits_split_is_fixed_and_normalised():
    train, test = load_digits()
    x, y = train.tensors
    assert tuple(x.shape) == (1347, 64) and len(test) == 450
    assert x.dtype.is_floating_point and float(x.min()) == 0.0 and float(x.max()) == 1.0
    # stratified: every class keeps its share (sklearn digits has 174..183 images per class)
    assert np.bincount(test.tensors[1].numpy()).min() >= 43
    again, _ = load_digits()
    assert np.array_equal(again.tensors[0].numpy(), x.numpy())
