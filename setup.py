"""Packages of the wheel, discovered: each top-level source folder installs as a subpackage of raregraph.

DESIGN.md keeps etl/, kg/, cypher/, retrieval/, llm/ and api/ at the top level; installed as
`raregraph.<folder>`, their generic names never clash in site-packages. pyproject.toml's
`packages.find` cannot put a prefix on what it finds, so discovery under each folder happens here
(setuptools' documented `setup.py` configuration); everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

FOLDERS = {"raregraph": "raregraph", **{f"raregraph.{name}": name for name in ("etl", "kg", "cypher", "retrieval", "llm", "api")}}

setup(
    package_dir=FOLDERS,
    packages=[*FOLDERS, *(f"{package}.{sub}" for package, folder in FOLDERS.items() for sub in find_packages(folder))],
)
