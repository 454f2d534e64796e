"""Datasets: bundled TFDS builders, the data-dir catalog and the grain input pipeline."""

from jaxgen.data.catalog import (
    BUNDLED,
    dataset_info,
    list_datasets,
    open_source,
    prepare,
    resolve_data_dir,
)
from jaxgen.data.pipeline import (
    eval_batches,
    iterator_state_to_json,
    make_loader,
    output_info,
    read_split,
    restore_iterator,
)

__all__ = [
    "BUNDLED", "dataset_info", "eval_batches", "iterator_state_to_json", "list_datasets", "make_loader",
    "open_source", "output_info", "prepare", "read_split", "resolve_data_dir", "restore_iterator",
]
