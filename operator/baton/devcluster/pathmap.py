"""The dev cluster's stand-in for mounts: container paths mapped to local paths by rewriting text (pure).

Processes here are unprivileged local processes and cannot mount anything, so the kubelet gives each
container a `PathMap` from the paths its manifest names (volume `mountPath`s, the
`terminationMessagePath`) to local files and directories, and rewrites every occurrence of those paths
in `command`, `args` and `env` values before the process starts.

The rewrite rule: a container path is replaced only where it stands as a whole path or as the start of
a longer one. The character before it must not be a file-name character (letters, digits, `.`, `_`,
`-`), and the character after it must be the end of the text, `/`, or anything that is not a file-name
character. With `/workspace/data` mapped, `/workspace/data`, `/workspace/data/x.csv`,
`"/workspace/data"` and `--out=/workspace/data:ro` are rewritten; `/workspace/database`,
`/workspace/data.bak` and `/mnt/workspace/data` are not. Longer container paths win
(`/workspace/data/raw` over `/workspace/data`), and the text is rewritten in one pass, so a local path
that was just substituted is never rewritten again. Container paths are normalized (`/a//b/` is
`/a/b`; a relative one is taken from `/`, as runc does); `/` itself is never rewritten.

Paths inside files (scripts, configuration read at run time) and paths a program builds at run time are
beyond its reach: they still name the container path, which does not exist here.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

_NAME_CHAR = "A-Za-z0-9._-"


def normalize(container_path: str) -> str:
    """An absolute, normalized container path (`/` for an empty one)."""
    normalized = posixpath.normpath("/" + container_path.lstrip("/")) if container_path else "/"
    # normpath keeps a leading `//` (POSIX leaves its meaning to the implementation); runc does not.
    return "/" + normalized.lstrip("/")


@dataclass(frozen=True)
class PathMap:
    """Container paths and the local paths that stand in for them, longest container path first."""

    entries: tuple[tuple[str, str], ...] = ()
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, Path | str]]) -> PathMap:
        chosen: dict[str, str] = {}
        for container_path, local in pairs:
            normalized = normalize(container_path)
            if normalized != "/":
                chosen.setdefault(normalized, str(local))  # the first mapping of a path wins
        entries = tuple(sorted(chosen.items(), key=lambda entry: (-len(entry[0]), entry[0])))
        if not entries:
            return cls()
        alternatives = "|".join(re.escape(container) for container, _ in entries)
        pattern = re.compile(f"(?<![{_NAME_CHAR}])(?:{alternatives})(?![{_NAME_CHAR}])")
        return cls(entries, pattern)

    def rewrite(self, text: str) -> str:
        """`text` with every mapped container path (at a path boundary) replaced by its local path."""
        if self._pattern is None:
            return text
        local = dict(self.entries)
        return self._pattern.sub(lambda match: local[match.group(0)], text)

    def resolve(self, container_path: str) -> Path | None:
        """The local path for a container path at or below a mapped one (None when none covers it)."""
        wanted = normalize(container_path)
        for container, local in self.entries:
            if wanted == container:
                return Path(local)
            if wanted.startswith(container + "/"):
                return Path(local) / wanted[len(container) + 1 :]
        return None

    def __add__(self, other: PathMap) -> PathMap:
        """Both maps; where both map a container path, this one's mapping wins."""
        return PathMap.of([*self.entries, *other.entries])
