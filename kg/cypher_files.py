"""Every Cypher statement, loaded by name from the `raregraph.cypher` package (`cypher/*.cypher`).

Each file holds one statement (``schema.cypher`` holds several, separated by ``;``) and opens
with a header of ``//`` lines::

    // terms_by_id — HPO terms by primary id, with their synonyms and parents.
    // mode: read
    // params: $snapshot STRING, $ids LIST<STRING>
    // returns: key, term, synonyms, parents

``mode`` is ``read``, ``write`` or ``schema``. Values only ever reach a statement as
``$parameters``; labels and relationship types are fixed in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["CypherFile", "cypher_file", "cypher_names", "load_cypher", "schema_statements"]

_PACKAGE = "raregraph.cypher"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PARAM = re.compile(r"\$(\w+)\s+([A-Z]+(?:<[A-Z]+>)?)")
_USED = re.compile(r"\$(\w+)")
_MODES = ("read", "write", "schema")


@dataclass(frozen=True)
class CypherFile:
    """One `.cypher` file: its statement text (header included) and what the header declares."""

    name: str
    text: str
    mode: str
    params: dict[str, str]  # name -> declared type, e.g. {"ids": "LIST<STRING>"}
    returns: tuple[str, ...]

    @property
    def body(self) -> str:
        """The statement without its header comment."""
        return "\n".join(line for line in self.text.splitlines() if not line.lstrip().startswith("//")).strip()

    def used_params(self) -> set[str]:
        """The `$names` the statement body refers to."""
        return set(_USED.findall(self.body))


@cache
def cypher_names() -> tuple[str, ...]:
    """Names (file stems) of every `.cypher` file in the package, sorted."""
    files = resources.files(_PACKAGE).iterdir()
    return tuple(sorted(f.name[: -len(".cypher")] for f in files if f.name.endswith(".cypher")))


@cache
def cypher_file(name: str) -> CypherFile:
    """The parsed file `cypher/<name>.cypher`; read once per process.

    Raises:
        KeyError: no such file (or a name that is not a plain file stem).
    """
    if not _NAME.match(name) or name not in cypher_names():
        raise KeyError(f"no Cypher file named {name!r}")
    text = resources.files(_PACKAGE).joinpath(f"{name}.cypher").read_text(encoding="utf-8")
    header = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("//"):
            break
        key, sep, value = stripped[2:].strip().partition(":")
        if sep and key.strip() in ("mode", "params", "returns"):
            header[key.strip()] = value.strip()
    mode = header.get("mode", "")
    if mode not in _MODES:
        raise ValueError(f"cypher/{name}.cypher: header must declare 'mode: read|write|schema', got {mode!r}")
    params = dict(_PARAM.findall(header.get("params", "")))
    returns = tuple(part.strip() for part in header.get("returns", "").split(",") if part.strip() and part.strip() != "-")
    return CypherFile(name=name, text=text, mode=mode, params=params, returns=returns)


def load_cypher(name: str) -> str:
    """The statement text of `cypher/<name>.cypher` (cached)."""
    return cypher_file(name).text


@cache
def schema_statements() -> tuple[str, ...]:
    """The statements of `cypher/schema.cypher`, in order (constraints and indexes, all IF NOT EXISTS)."""
    body = cypher_file("schema").body
    return tuple(part.strip() for part in body.split(";") if part.strip())
