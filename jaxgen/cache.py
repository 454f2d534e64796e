"""Where jaxgen keeps what it computes once or is given: `$JAXGEN_CACHE_DIR`, default `~/.cache/jaxgen`.

    features/lenet_<dataset>/   the LeNet feature networks jaxgen trains on first use (workdirs)
    reference_stats/*.npz       real-data features per protocol (jaxgen.metrics.reference)
    weights/                    weight files the user supplies (InceptionV3 for FID)

(Datasets live in their own TFDS data dir, `$JAXGEN_DATA_DIR`; see jaxgen.data.catalog.)
"""

from __future__ import annotations

import os


def cache_dir(*parts: str) -> str:
    """`$JAXGEN_CACHE_DIR` (default `$XDG_CACHE_HOME/jaxgen`, else `~/.cache/jaxgen`) joined with `parts`."""
    root = os.environ.get("JAXGEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "jaxgen")
    return os.path.abspath(os.path.expanduser(os.path.join(root, *parts)))
