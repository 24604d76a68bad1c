"""What the suite keeps for people to read after a run, in tests/artifacts/: screenshots,
measured figures, report tables.

Several xdist workers add to the same kept file at once (the three widths of a scan, the
tests of one page), each knowing only its own part. ``merge_into_json`` adds a part under
a lock and replaces the file in one rename, so no worker reads a file another has just
emptied and no part is lost to the last writer.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "artifacts"


def merge_into_json(path: Path, entries: dict) -> dict:
    """Add ``entries`` to the JSON object kept at ``path``; answer the whole object."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        kept = json.loads(path.read_text()) if path.exists() else {}
        kept.update(entries)
        written = path.with_suffix(f".{os.getpid()}.tmp")
        written.write_text(json.dumps(kept, indent=2, sort_keys=True))
        written.replace(path)
    return kept
