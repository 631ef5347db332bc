"""Where problems come from — local files, Hugging Face datasets, or the built-in generator — behind one interface."""

from factory.sources.base import ColumnMapper, Source, SourceError
from factory.sources.files import FileSource
from factory.sources.hf import HFSource
from factory.sources.procedural import PROCEDURAL_VERSION, ProceduralConfig, ProceduralSource
from factory.sources.registry import source_from_spec

__all__ = [
    "PROCEDURAL_VERSION",
    "ColumnMapper",
    "FileSource",
    "HFSource",
    "ProceduralConfig",
    "ProceduralSource",
    "Source",
    "SourceError",
    "source_from_spec",
]
