"""The replay on disk: chunks written once, in numbered files, read back on ``--resume``.

A checkpoint must not cost more as the buffer grows, so the replay is never rewritten: the
trainer hands each batch of new chunks to ``ChunkStore.write`` once, as one ``.npz`` file
(numbered 0, 1, 2, ...; written to a temporary name, then renamed, so a crash never leaves
half a file), and the checkpoint records how many files it covers. On resume, exactly those
files are read back in order; files written after the checkpoint hold steps its counters
never counted, so they are removed. Files whose steps the ring has overwritten are deleted.

No pickle: every field is a plain numeric array, read with ``allow_pickle=False``.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np

from muzero_lite.checkpoint import atomic_write
from muzero_lite.replay.buffer import Chunk

__all__ = ["ChunkStore"]

_COLUMNS = ("observations", "actions", "rewards", "root_values", "policies", "to_plays",
            "legal_masks")
_NAME = re.compile(r"^chunks-(\d{9})\.npz$")


class ChunkStore:
    """A folder of ``chunks-<number>.npz`` files, each holding one or more ``Chunk``."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, number: int) -> Path:
        return self.folder / f"chunks-{number:09d}.npz"

    def numbers(self) -> list[int]:
        """The numbers of the files present, ascending."""
        if not self.folder.is_dir():
            return []
        found = (_NAME.match(p.name) for p in self.folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def write(self, number: int, chunks: list[Chunk]) -> None:
        """Write ``chunks`` as file ``number`` (atomically); the list must not be empty."""
        assert chunks, "nothing to write"
        arrays = {name: np.concatenate([getattr(c, name) for c in chunks]) for name in _COLUMNS}
        arrays |= {
            "lengths": np.array([len(c) for c in chunks], dtype=np.int64),
            "keys": np.array([c.key for c in chunks], dtype=np.int64),
            "flags": np.array([[c.first, c.game_over, c.done] for c in chunks], dtype=bool),
        }

        def save(tmp: str) -> None:
            with open(tmp, "wb") as file:  # a file object: numpy adds no ".npz" suffix
                np.savez(file, **arrays)

        atomic_write(self.path(number), save)

    def read(self, number: int, advice: str = "restore it from a copy") -> list[Chunk]:
        """The chunks of file ``number``; a damaged file is named in the error, with
        ``advice`` on what to do."""
        path = self.path(number)
        try:
            with np.load(path, allow_pickle=False) as npz:
                data = {name: npz[name] for name in npz.files}
            offsets = np.concatenate([[0], np.cumsum(data["lengths"])])
            chunks = []
            for i, key in enumerate(data["keys"].tolist()):
                rows = slice(int(offsets[i]), int(offsets[i + 1]))
                first, game_over, done = (bool(x) for x in data["flags"][i])
                chunks.append(Chunk(key, *(data[name][rows] for name in _COLUMNS),
                                    first=first, game_over=game_over, done=done))
            return chunks
        except (OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile) as error:
            what = str(error).strip().splitlines()[0] if str(error).strip() else type(
                error).__name__
            raise ValueError(f"{path} is not a readable replay file ({what}); {advice}"
                             ) from None

    def remove(self, numbers: list[int]) -> None:
        for number in numbers:
            self.path(number).unlink(missing_ok=True)

    def remove_leftovers(self, keep_below: int) -> list[int]:
        """Delete files numbered ``>= keep_below`` and temporary files a crash left; returns
        the numbers deleted."""
        late = [n for n in self.numbers() if n >= keep_below]
        self.remove(late)
        if self.folder.is_dir():
            for tmp in self.folder.glob(".chunks-*.tmp"):
                tmp.unlink(missing_ok=True)
        return late
