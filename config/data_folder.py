"""The embedded shape's data folder is private to the user the portal runs as.

It holds what a clinic must keep to itself: the SQLite database (patients' names, dates
of birth and mobiles, sessions, TOTP keys, short links) with its WAL and shared-memory
files, the broker's queue, the beat schedule, the per-install secret, the SMS outbox and
the stored files. Every process of the embedded shape makes what it writes 0600 (folders
0700) whatever its caller's umask, and refuses to start, in words, when the folder or a
file directly in it can be read by other users of the machine: data another user could
read is already exposed, so an operator is told, with the one command that fixes it,
rather than the folder being changed behind their back (it may have been shared on
purpose, or hold another program's folders that need their own modes).

Only the standard library: ``config.settings`` calls this before Django is set up.
"""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
FOLDER_MODE = 0o700
OTHERS = 0o077  # the group's and everyone else's permission bits


class DataFolderError(RuntimeError):
    """The data folder can be read by other users; the message says what to run."""


def make_private_umask() -> None:
    """From now on this process (and what it starts) creates files 0600 and folders 0700."""
    os.umask(PRIVATE_UMASK)


def open_to_others(mode: int) -> bool:
    return bool(stat.S_IMODE(mode) & OTHERS)


def exposed(data_dir: Path) -> list[tuple[Path, int, bool]]:
    """(path, mode, is the folder) of the folder, if others can reach it, and of each
    file directly in it that others can read: links followed, as a reader would."""
    found = []
    folder_mode = data_dir.stat().st_mode
    if open_to_others(folder_mode):
        found.append((data_dir, stat.S_IMODE(folder_mode), True))
    for entry in sorted(os.scandir(data_dir), key=lambda e: e.name):
        try:
            mode = entry.stat().st_mode
        except FileNotFoundError:  # gone meanwhile (a WAL checkpointed away), or a dead link
            continue
        if stat.S_ISREG(mode) and open_to_others(mode):
            found.append((Path(entry.path), stat.S_IMODE(mode), False))
    return found


def refusal(found: list[tuple[Path, int, bool]]) -> str:
    """What is wrong, in words, and the one command that makes all of it private."""
    named = ", ".join(f"{path} (mode {mode:o})" for path, mode, _ in found)
    commands = []
    folders = [path for path, _, is_folder in found if is_folder]
    files = [path for path, _, is_folder in found if not is_folder]
    if folders:
        commands.append(f"chmod {FOLDER_MODE:o} " + " ".join(shlex.quote(str(p)) for p in folders))
    if files:
        commands.append("chmod 600 " + " ".join(shlex.quote(str(p)) for p in files))
    return (
        f"The data folder holds patients' data, and other users of this machine can read "
        f"it: {named}. Run `{' && '.join(commands)}`, then start again."
    )


def ensure_private_data_folder(data_dir: Path) -> None:
    """Create the data folder 0700 with a private umask, or refuse one others can read."""
    make_private_umask()
    data_dir.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    found = exposed(data_dir)
    if found:
        raise DataFolderError(refusal(found))
