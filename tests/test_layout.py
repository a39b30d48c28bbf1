"""Packaging guards (style_and_layout.md B.2): the three traps, and the torch-free physics layers."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAPPED = ["device", "circuits", "snn", "ml_zoo", "explore", "data"]


def _disk_packages() -> set[str]:
    pkgs = {"vo2neuro"}
    for top in MAPPED:
        for init in (REPO / top).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / top)
            pkgs.add(".".join(["vo2neuro", top, *rel.parts]))
    return pkgs


def test_no_bare_top_level_modules_shadow_the_package():
    # trap 3: the repo root on sys.path would make `import device` a second copy of vo2neuro.device
    for name in MAPPED:
        assert importlib.util.find_spec(name) is None, f"bare module {name!r} importable: repo root on sys.path"
    import vo2neuro.device

    assert Path(vo2neuro.device.__file__).resolve().parent == REPO / "device"


@pytest.mark.parametrize("module", ["vo2neuro.device", "vo2neuro.circuits"])
def test_physics_layers_do_not_import_torch(module):
    code = f"import sys, {module}; bad = [m for m in ('torch', 'snntorch') if m in sys.modules]; print(bad)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.path.dirname(REPO))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", f"{module} imports {r.stdout.strip()}"


def test_cli_device_path_does_not_import_torch():
    code = ("import sys; from vo2neuro.cli import main; main(['device', 'iv', '--preset', 'vo2', '--json']); "
            "print('TORCH' if 'torch' in sys.modules else 'CLEAN', file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.path.dirname(REPO))
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().endswith("CLEAN")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                        str(out), str(REPO)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    (whl,) = out.glob("vo2neuro-*.whl")
    return whl


def test_wheel_contains_every_subpackage_on_disk(wheel):
    # trap 1: a declarative package list silently drops new subpackages from the wheel
    names = zipfile.ZipFile(wheel).namelist()
    in_wheel = {str(Path(n).parent).replace("/", ".") for n in names if n.endswith("__init__.py")}
    missing = _disk_packages() - in_wheel
    assert not missing, f"subpackages missing from the wheel: {sorted(missing)}"
    assert "vo2neuro/CITATIONS.bib" in names and "vo2neuro/py.typed" in names


def test_mypy_resolves_the_installed_layout(wheel, tmp_path):
    # trap 2: static tools cannot follow the editable import hook; the wheel layout must type-check
    pytest.importorskip("mypy")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = tmp_path / "probe.py"
    probe.write_text("from vo2neuro.device.params import VO2DeviceParams\n"
                     "from vo2neuro.units import parse_si\n"
                     "x: float = parse_si('12k')\n"
                     "reveal_type(VO2DeviceParams)\n")
    env = {**os.environ, "MYPYPATH": str(site)}
    r = subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent", "--ignore-missing-imports",
                        "--no-incremental", str(probe)], capture_output=True, text=True, env=env, cwd=tmp_path)
    # an unresolved module would reveal "Any" (missing imports are ignored for third-party stubs)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'Revealed type is "def (*, T_c: builtins.float' in r.stdout or \
        'Revealed type is "def (*, T_c: float' in r.stdout, r.stdout
