"""Where a classifier's errors are: the largest cells of its confusion matrix."""

import numpy as np


def largest_confusions(matrix, count=6):
    """The `count` largest off-diagonal cells of a [true, predicted] matrix as (true, predicted, images)."""
    matrix = np.asarray(matrix)
    cells = [(int(t), int(p), int(matrix[t, p])) for t in range(len(matrix)) for p in range(len(matrix))
             if t != p and matrix[t, p] > 0]
    return sorted(cells, key=lambda cell: (-cell[2], cell[0], cell[1]))[:count]
