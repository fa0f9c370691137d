"""Data layer: sources → validated arrays + DataSpec → labeled / validation split → tf.data pipelines."""

from ssl_gen.data.pipeline import image_batches, train_dataset
from ssl_gen.data.sources import DataSet, DataSpec, from_arrays, load, load_npz, load_tfds, without_test_set
from ssl_gen.data.split import (SPLIT_FILE, VALIDATION_FILE, Split, balanced_labeled_indices, load_validation,
                                resolve_validation_size)
from ssl_gen.data.split import load_or_create as load_or_create_split
from ssl_gen.data.split import save as save_split
