"""Expanding the paths, directories and glob patterns a user names into the document files to ingest."""
from __future__ import annotations

import errno
import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from ingest.parse.source import is_supported, unsupported_type_reason

_GLOB_CHARACTERS = frozenset("*?[")


@dataclass
class DiscoveredFiles:
    """Files to ingest (sorted, each once), one-line problems, and files skipped for an unknown extension.

    Unpacks as ``files, problems = discover_files(...)``.
    """

    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped_unknown: list[Path] = field(default_factory=list)

    def __iter__(self):
        return iter((self.files, self.problems))


def discover_files(paths_or_globs: list[str], recursive: bool = True) -> DiscoveredFiles:
    """Files named directly, found under directories (hidden entries skipped) or matched by globs ("**" too).

    A file named directly with an unknown extension is a problem; one met while walking a directory or
    matching a glob is only counted in skipped_unknown. Symbolic-link loops are walked once.
    """
    walker = _Walker(recursive)
    for argument in paths_or_globs:
        try:
            _discover(argument, walker)
        except OSError as error:     # a parent directory that may not be entered
            walker.problems.append(f"{argument}: cannot read ({error.strerror or error})")
    return DiscoveredFiles(
        files=sorted(walker.files.values(), key=str), problems=walker.problems, skipped_unknown=walker.skipped
    )


def _discover(argument: str, walker: "_Walker") -> None:
    """One path, directory or glob pattern the user named: its files given to `walker`, or a problem line."""
    path = Path(argument)
    if path.is_dir() or path.is_file():
        walker.visit(path, named_by_user=True)
    elif path.exists():  # a device, a pipe, a socket, or a symbolic link to one (exists() follows links)
        walker.problems.append(f"{argument}: not a regular file or directory")
    elif path.is_symlink():
        walker.problems.append(f"{argument}: {'symbolic link loop' if _loops(path) else 'broken symbolic link'}")
    elif _GLOB_CHARACTERS & set(argument):
        matches = sorted(glob.glob(argument, recursive=True))
        if not matches:
            walker.problems.append(f"{argument}: no files match this pattern")
        for match in matches:
            walker.visit(Path(match))
    else:
        walker.problems.append(f"{argument}: no such file or directory")


def _loops(link: Path) -> bool:
    """Whether following the symbolic link leads back to itself ('a -> b -> a'), not to a missing file."""
    try:
        os.stat(link)
    except OSError as error:
        return error.errno == errno.ELOOP
    return False


class _Walker:
    """Collects files once each (by real path) and walks each real directory once (symlink loops)."""

    def __init__(self, recursive: bool):
        self.recursive = recursive
        self.files: dict[str, Path] = {}
        self.problems: list[str] = []
        self.skipped: list[Path] = []
        self._walked_directories: set[str] = set()

    def visit(self, path: Path, named_by_user: bool = False) -> None:
        """Take a file or walk a directory; an unknown extension is a problem only in a file the user named."""
        if path.is_dir():
            self.walk(path)
        elif path.is_file():
            if not _has_utf8_name(path):   # Chroma stores the source as UTF-8 text: such a name cannot be kept
                self.problems.append(f"{_shown(path)}: file name is not valid UTF-8 (rename the file to ingest it)")
            elif is_supported(path):
                self.files.setdefault(os.path.realpath(path), path)
            elif named_by_user:
                self.problems.append(f"{path}: {unsupported_type_reason(path)}")
            else:
                self.skipped.append(path)

    def walk(self, root: Path) -> None:
        pending = [root]
        while pending:
            directory = pending.pop()
            real = os.path.realpath(directory)
            if real in self._walked_directories:
                continue
            self._walked_directories.add(real)
            try:
                with os.scandir(directory) as scan:
                    entries = sorted(scan, key=lambda entry: entry.name)
            except OSError as error:
                self.problems.append(f"{directory}: cannot read directory ({error.strerror or error})")
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                path = Path(entry.path)
                try:
                    if path.is_dir():
                        if self.recursive:
                            pending.append(path)
                    elif path.is_file():
                        self.visit(path)
                except OSError as error:   # listed, but its directory may not be entered
                    self.problems.append(f"{_shown(path)}: cannot read ({error.strerror or error})")


def _has_utf8_name(path: Path) -> bool:
    """False for a name holding bytes that are not UTF-8 (Python keeps them as lone surrogates: '\\udcff')."""
    try:
        os.path.abspath(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(path: Path) -> str:
    """The path as it can be printed: bytes that are not UTF-8 shown as U+FFFD."""
    return os.fsencode(path).decode("utf-8", errors="replace")
