"""Named random streams (ssl_gen/seeds.py): distinct per name and counter, the same in every process."""

import subprocess
import sys

from ssl_gen import seeds
from tests.conftest import ROOT, SUBPROCESS_ENV


def test_streams_of_one_run_differ_by_name_and_by_counter():
    drawn = [seeds.derive(7, name) for name in ("classifier", "generator", "discriminator", "input")]
    drawn += [seeds.derive(7, "input", step) for step in (0, 1, 1000)]
    assert len(set(drawn)) == len(drawn)
    assert seeds.derive(7, "classifier") != seeds.derive(8, "classifier")


def test_a_derived_seed_leaves_room_for_layer_offsets_within_int32():
    assert all(0 <= seeds.derive(seed, "generator") < 2 ** 30 for seed in range(200))


def test_a_stream_is_the_same_in_another_process():
    code = "from ssl_gen import seeds; print(seeds.derive(101, 'classifier', 3), seeds.stream_id('cutout'))"
    printed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=SUBPROCESS_ENV, capture_output=True,
                             text=True, check=True).stdout.split()
    assert printed == [str(seeds.derive(101, "classifier", 3)), str(seeds.stream_id("cutout"))]
