"""Named random streams: every seed a run uses derives from its --seed and the stream's name, so no two
parts of a run share a stream by accident and adding a stream moves no other."""

import zlib

import numpy as np


def stream_id(name):
    """A stable non-negative int32 for `name` (the same in every process), e.g. for stateless_fold_in."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def derive(seed, stream, *counters):
    """A 30-bit int seed for `stream` of the run seeded `seed`, optionally also keyed by int `counters`
    (e.g. the step a resumed run starts from); small enough that a network may add layer offsets to it."""
    # The counters' count goes in too: SeedSequence pads with zeros, so [s, n] would equal [s, n, 0].
    words = np.random.SeedSequence([seed, stream_id(stream), len(counters), *counters]).generate_state(1)
    return int(words[0]) >> 2
