"""Map the top-level folders into the ``vo2neuro`` import namespace.

All metadata lives in pyproject.toml; this file only discovers packages so that
a new subpackage can never be silently left out of the wheel.
"""
from setuptools import find_packages, setup

SUBPACKAGES = ["device", "circuits", "snn", "ml_zoo", "explore", "data"]
package_dir = {"vo2neuro": "vo2neuro", **{f"vo2neuro.{s}": s for s in SUBPACKAGES}}
packages = ["vo2neuro"] + [
    f"vo2neuro.{s}{'.' + sub if sub else ''}"
    for s in SUBPACKAGES
    for sub in ["", *find_packages(where=s)]
]
setup(package_dir=package_dir, packages=packages)
