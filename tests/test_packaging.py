"""The built wheel holds every source package and its files: packages are discovered, never listed by hand.

An editable install imports any folder under the source tree, so a package missing from the
wheel only shows once installed from it; this builds the wheel offline and compares.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_SHIPPED = {"tests"}  # top-level folders with an __init__.py that stay out of the wheel
BUILD_FILES = ("pyproject.toml", "setup.py", "README.md")


def _source_packages() -> dict[str, Path]:
    """Every source folder with an __init__.py, by its path in the wheel (`etl/x` → `raregraph/etl/x`)."""
    tops = [p for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name not in NOT_SHIPPED]
    packages = {}
    for top in tops:
        prefix = Path("raregraph") if top.name == "raregraph" else Path("raregraph") / top.name
        for init in top.rglob("__init__.py"):
            packages[(prefix / init.parent.relative_to(top)).as_posix()] = init.parent
    return packages


def _expected_files(packages: dict[str, Path]) -> set[str]:
    return {
        f"{name}/{file.name}"
        for name, folder in packages.items()
        for file in folder.iterdir()
        if file.is_file() and file.suffix not in (".pyc", ".pyo")
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    """The wheel built from a copy of the sources (a build in place could reuse stale files in build/)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in BUILD_FILES:
        shutil.copy2(ROOT / name, source / name)
    for top in {folder.relative_to(ROOT).parts[0] for folder in _source_packages().values()}:
        shutil.copytree(ROOT / top, source / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
               "--quiet", "--wheel-dir", str(work / "dist"), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
    (built,) = (work / "dist").glob("raregraph-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def test_every_source_package_and_file_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    packages = _source_packages()
    assert {"raregraph", "raregraph/etl/sources", "raregraph/api", "raregraph/cypher"} <= packages.keys()
    shipped = {name for name in wheel.namelist() if not name.split("/")[0].endswith(".dist-info")}
    missing = _expected_files(packages) - shipped
    assert not missing, f"in the source tree but not in the wheel: {sorted(missing)}"
    assert any(name.endswith(".cypher") for name in shipped)
    extra = {name for name in shipped if name.rsplit("/", 1)[0] not in packages}
    assert not extra, f"in the wheel outside any source package (tests? benchmarks?): {sorted(extra)}"


def test_the_console_script_points_into_the_wheel(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    config = configparser.ConfigParser()
    config.read_string(wheel.read(entry_points).decode("utf-8"))
    module = config["console_scripts"]["raregraph"].split(":")[0].replace(".", "/")
    assert {f"{module}.py", f"{module}/__init__.py"} & set(wheel.namelist()), module
