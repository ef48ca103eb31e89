"""One training per run folder: ``<folder>/.lock`` holds the pid of the process using it.

Two trainings writing one folder would interleave their metrics and overwrite each other's
checkpoints and replay files. The lock file is created exclusively (``O_EXCL``: of two
processes, exactly one succeeds) and removed when the run stops. A process killed with
``kill -9`` cannot remove it, so a lock whose process is gone is stale and taken over; one
held on another machine (a shared file system) cannot be checked and is refused.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

__all__ = ["RunLock"]


class RunLock:
    """``acquire()`` or a one-line ``ValueError`` saying who holds the folder; ``release()``."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / ".lock"
        self.held = False

    def acquire(self) -> None:
        if self.held:
            return
        for _ in range(3):  # a stale lock is removed, then taken on the next try
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._refuse_or_clear()
                continue
            with os.fdopen(fd, "w") as file:
                file.write(f"{os.getpid()} {socket.gethostname()}\n")
            self.held = True
            return
        raise ValueError(f"could not lock {self.folder}: {self.path} keeps reappearing")

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def _refuse_or_clear(self) -> None:
        try:
            pid_text, host = self.path.read_text().split()
            pid = int(pid_text)
        except FileNotFoundError:
            return  # released meanwhile: try again
        except ValueError:  # empty or torn: its writer died between creating and writing
            self.path.unlink(missing_ok=True)
            return
        if host != socket.gethostname():
            raise ValueError(f"{self.folder} is in use by process {pid} on {host}; if no "
                             f"training runs there any more, delete {self.path}")
        if pid == os.getpid():
            raise ValueError(f"{self.folder} is in use by another Trainer in this process; "
                             "let its train() finish first")
        if _alive(pid):
            raise ValueError(f"{self.folder} is in use by another training (process {pid}); "
                             "wait for it to stop, or pick another --out")
        self.path.unlink(missing_ok=True)  # stale: its process was killed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by another user
    return True
