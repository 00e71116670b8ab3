"""raregraph: grounded rare-disease differential diagnosis over a versioned knowledge graph."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("raregraph")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
