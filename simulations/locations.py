"""Where a dataset lives: a local path, or an fsspec URL (``s3://bucket/prefix``,
``gs://...``, ``memory://name``; ``file://`` is a local path). Object stores have no atomic
rename, which is why :class:`simulations.eventlog.DatasetWriter` commits them by writing the
manifest last."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from simulations.errors import ConfigError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["child", "exists", "in_memory", "is_url", "split"]

_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*(://|::)")


def is_url(location: str | os.PathLike[str]) -> bool:
    """True for a string that names an fsspec URL (``s3://...``, ``file://...``); paths
    (``pathlib.Path`` objects included) are not URLs."""
    return isinstance(location, str) and _URL_RE.match(location) is not None


def split(location: str | os.PathLike[str]) -> tuple[AbstractFileSystem | None, Path | str]:
    """``(file system, path on it)`` for the URL of a non-local fsspec file system;
    ``(None, local path)`` for a path or a ``file://`` URL.

    Raises
    ------
    ConfigError
        If the URL's protocol is unknown or its package (s3fs, gcsfs) is not installed.
    """
    if not is_url(location):
        return None, Path(location)
    from fsspec.core import url_to_fs
    from fsspec.implementations.local import LocalFileSystem

    try:
        fs, path = url_to_fs(location)
    except ImportError as exc:
        raise ConfigError(f"cannot use {location!r}: {exc} (for object stores install "
                          "'synthsim[s3]' or 'synthsim[gcs]')") from exc  # fmt: skip
    except ValueError as exc:
        raise ConfigError(f"cannot use {location!r}: {exc}") from exc
    if isinstance(fs, LocalFileSystem):
        return None, Path(path)
    return fs, path.rstrip("/")


def child(location: str | os.PathLike[str], *names: str) -> Path | str:
    """``location / name / ...``, keeping a URL a URL."""
    if is_url(location):
        return "/".join([str(location).rstrip("/"), *names])
    return Path(location).joinpath(*names)


def exists(location: str | os.PathLike[str]) -> bool:
    """Whether a file or folder exists at a path or URL."""
    fs, path = split(location)
    return Path(path).exists() if fs is None else fs.exists(path)


def in_memory(location: str | os.PathLike[str]) -> bool:
    """True for a ``memory://`` URL: a file system that lives in one process only."""
    from fsspec.implementations.memory import MemoryFileSystem

    return isinstance(split(location)[0], MemoryFileSystem)
