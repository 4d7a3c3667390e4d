"""Writing files so that a failure never leaves a half-written file nor touches what was there."""

import os
import stat
import tempfile
from pathlib import Path


def _mode_for(path: Path) -> int:
    """The permissions the new file gets: an existing file's own, else what ``open(path,
    "w")`` would give under the current umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write(path, chunks) -> int:
    """Write the byte strings of the iterable ``chunks`` to ``path`` through a temporary file
    beside it, renamed over ``path`` at the end; returns the byte count. On any failure
    (including one raised while ``chunks`` produces its next chunk) the temporary file is
    removed and ``path`` is untouched."""
    path = Path(path)
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    written = 0
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
                written += len(chunk)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return written
