"""Writing a file so that a reader never sees half of it and a failure leaves the old one."""
import os
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path, suffix=".partial"):
    """Yields a temporary path beside `path`: renamed over `path` when the block succeeds,
    removed when it fails."""
    path = Path(path)
    tmp = path.with_name(path.name + suffix)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
