"""Datasets for the BP-SNN: MNIST from the original idx(.gz) files, and scikit-learn's bundled 8x8 digits.

Both return ``(train, test)`` :class:`torch.utils.data.TensorDataset` pairs of flattened float32 images in
[0, 1] (shape ``[N, H*W]``) and int64 labels (shape ``[N]``).

MNIST location, first match wins (an explicit location is authoritative: nothing else is searched)::

    1. data_dir argument (CLI --data-dir)           the folder holding the files, or its parent holding mnist/
    2. $VO2NEURO_DATA                               same rule
    3. ~/.cache/vo2neuro/mnist                      downloaded from MIRRORS if missing and download=True

Every file is checked for size and md5 (``environment.md`` section 4.1) before it is parsed; a missing,
truncated or corrupt file raises :class:`DataError` with one line naming the file and what to do.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from vo2neuro.units import ParameterError

__all__ = [
    "DATASETS",
    "DataError",
    "FileSpec",
    "MIRRORS",
    "MNIST_FILES",
    "cache_dir",
    "download_file",
    "find_mnist_dir",
    "load_dataset",
    "load_digits",
    "load_mnist",
    "read_idx",
    "verify_file",
]


class DataError(ParameterError):
    """A dataset file that is missing, truncated or corrupt (one-line message naming the file and the fix)."""


class FileSpec(NamedTuple):
    """Expected identity of one data file: name, size [bytes] and md5 of its bytes as stored (.gz)."""

    name: str
    size: int
    md5: str


#: The four original MNIST files (LeCun, Cortes & Burges), sizes and md5 of the .gz as in environment.md 4.1.
MNIST_FILES: dict[str, FileSpec] = {
    "train_images": FileSpec("train-images-idx3-ubyte.gz", 9_912_422, "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": FileSpec("train-labels-idx1-ubyte.gz", 28_881, "d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": FileSpec("t10k-images-idx3-ubyte.gz", 1_648_877, "9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": FileSpec("t10k-labels-idx1-ubyte.gz", 4_542, "ec29112dd5afa0611ce80d1b7f02629c"),
}

#: Download mirrors, tried in order (each is a URL prefix to which the file name is appended).
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

_HINT = "pass --data-dir (or set VO2NEURO_DATA) to a folder with the 4 original MNIST .gz files"


def cache_dir() -> Path:
    """Download cache ``$XDG_CACHE_HOME/vo2neuro/mnist`` (default ``~/.cache/vo2neuro/mnist``)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "vo2neuro" / "mnist"


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_file(path: str | os.PathLike, spec: FileSpec) -> Path:
    """Check that ``path`` exists with ``spec.size`` bytes and md5 ``spec.md5``; return it as a Path.

    Raises
    ------
    DataError
        One line naming the file: missing, wrong size (truncated or not the original), or wrong md5 (corrupt).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"data file {p} is missing; {_HINT}")
    size = p.stat().st_size
    if size != spec.size:
        what = "truncated" if size < spec.size else "not the original file"
        raise DataError(f"data file {p} has {size} bytes, expected {spec.size} ({what}); "
                        f"delete it and download it again, or {_HINT}")
    md5 = _md5(p)
    if md5 != spec.md5:
        raise DataError(f"data file {p} has md5 {md5}, expected {spec.md5} (corrupt or modified copy); "
                        f"delete it and download it again, or {_HINT}")
    return p


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an idx file (optionally gzipped) into a uint8 array of its declared shape.

    Format (LeCun et al.): 2 zero bytes, a type byte (0x08 = uint8), the number of dimensions, then that many
    big-endian int32 sizes, then the data. Raises :class:`DataError` if the file is not a complete idx file.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x-idx1-ubyte")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> read_idx(path).tolist()
    [7, 8, 9]
    """
    p = Path(path)
    try:
        opener = gzip.open if p.name.endswith(".gz") else open
        with opener(p, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise DataError(f"data file {p} is missing; {_HINT}") from None
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"data file {p} is not a readable gzip/idx file ({exc}); delete it and "
                        "download it again") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"data file {p} is not a uint8 idx file (bad magic number); delete it and download it again")
    nd = data[3]
    header = 4 + 4 * nd
    if len(data) < header:
        raise DataError(f"data file {p} is truncated inside its idx header; delete it and download it again")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(nd)]
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        raise DataError(f"data file {p} holds {len(data)} bytes of content, its idx header declares {expected} "
                        "(truncated or corrupt); delete it and download it again")
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)


def download_file(spec: FileSpec, dest_dir: str | os.PathLike, *, mirrors: Sequence[str] = MIRRORS,
                  timeout: float = 60.0) -> Path:
    """Download ``spec.name`` from the first mirror that serves a file matching ``spec`` into ``dest_dir``.

    The file is written to a temporary name in ``dest_dir``, verified (size, md5) and only then renamed
    (``os.replace``), so an interrupted download never leaves a file under the final name.
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    errors = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + spec.name
        fd, tmp = tempfile.mkstemp(prefix=spec.name + ".", suffix=".part", dir=dest)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            verify_file(tmp, spec)
            os.replace(tmp, dest / spec.name)
            return dest / spec.name
        except (OSError, DataError) as exc:
            errors.append(f"{url}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise DataError(f"data file {spec.name} could not be downloaded ({'; '.join(errors)}); {_HINT}")


def _resolve(folder: Path, specs: dict[str, FileSpec]) -> Path:
    """``folder`` itself or ``folder/mnist``, whichever holds the first spec's file (default: ``folder``)."""
    first = next(iter(specs.values())).name
    if not (folder / first).exists() and (folder / "mnist" / first).exists():
        return folder / "mnist"
    return folder


def find_mnist_dir(data_dir: str | os.PathLike | None = None, *,
                   specs: dict[str, FileSpec] = MNIST_FILES) -> tuple[Path, bool]:
    """Folder to read MNIST from and whether downloading into it is allowed (only for the cache)."""
    if data_dir is not None:
        return _resolve(Path(data_dir).expanduser(), specs), False
    env = os.environ.get("VO2NEURO_DATA")
    if env:
        return _resolve(Path(env).expanduser(), specs), False
    return cache_dir(), True


def load_mnist(data_dir: str | os.PathLike | None = None, *, download: bool = True,
               specs: dict[str, FileSpec] = MNIST_FILES, mirrors: Sequence[str] = MIRRORS):
    """MNIST as ``(train, test)`` TensorDatasets: images ``[N, 784]`` float32 in [0, 1], labels ``[N]`` int64.

    Parameters
    ----------
    data_dir : path or None
        Folder with the 4 .gz files, or its parent containing ``mnist/``; default $VO2NEURO_DATA, then the cache.
    download : bool
        Fetch missing files into the cache (never into an explicit folder).
    specs, mirrors
        File identities and download mirrors (override only for tests).

    Raises
    ------
    DataError
        A missing, truncated or corrupt file (one line naming it and the fix).

    References
    ----------
    Y. LeCun, C. Cortes, C. J. C. Burges, "The MNIST database of handwritten digits".
    """
    import torch
    from torch.utils.data import TensorDataset

    folder, may_download = find_mnist_dir(data_dir, specs=specs)
    arrays = {}
    for key, spec in specs.items():
        path = folder / spec.name
        if not path.exists() and may_download and download:
            print(f"vo2neuro: downloading {spec.name} into {folder}", file=sys.stderr)
            download_file(spec, folder, mirrors=mirrors)
        verify_file(path, spec)
        arrays[key] = read_idx(path)
    out = []
    for split in ("train", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if x.ndim != 3 or y.ndim != 1 or x.shape[0] != y.shape[0]:
            raise DataError(f"data files for the {split} split disagree: images {x.shape}, labels {y.shape}; "
                            "delete them and download them again")
        xt = torch.from_numpy(x.reshape(x.shape[0], -1).astype(np.float32) / 255.0)
        out.append(TensorDataset(xt, torch.from_numpy(y.astype(np.int64))))
    return out[0], out[1]


def load_digits(*, test_fraction: float = 0.25, seed: int = 0):
    """scikit-learn's bundled 8x8 digits (1797 images), split with a fixed seed, stratified by class.

    Returns ``(train, test)`` TensorDatasets: images ``[N, 64]`` float32 in [0, 1] (pixel/16), labels int64.
    With the defaults the split is 1347 train / 450 test images.

    References
    ----------
    E. Alpaydin, C. Kaynak, "Optical recognition of handwritten digits", UCI ML Repository (1998).
    """
    import torch
    from sklearn.datasets import load_digits as _sk_load_digits
    from sklearn.model_selection import train_test_split
    from torch.utils.data import TensorDataset

    if not 0.0 < test_fraction < 1.0:
        raise ParameterError(f"test_fraction must be in (0, 1) [-], got {test_fraction!r}")
    d = _sk_load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return (TensorDataset(torch.from_numpy(xtr), torch.from_numpy(ytr)),
            TensorDataset(torch.from_numpy(xte), torch.from_numpy(yte)))


#: Dataset registry: name -> loader(data_dir) returning (train, test).
DATASETS = {
    "mnist": lambda data_dir=None: load_mnist(data_dir),
    "digits": lambda data_dir=None: load_digits(),
}


def load_dataset(name: str, data_dir: str | os.PathLike | None = None):
    """``(train, test)`` of the registered dataset ``name``; :class:`ParameterError` listing valid names."""
    try:
        loader = DATASETS[name]
    except KeyError:
        raise ParameterError(f"dataset: unknown name {name!r}; valid: {', '.join(sorted(DATASETS))}") from None
    return loader(data_dir)
