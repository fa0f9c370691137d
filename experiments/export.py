"""Export a run's latest checkpoint as a SavedModel with `classify` and `generate` signatures.

python experiments/export.py --output_dir=runs/mnist100 --export_dir=exported/mnist100
"""

import json

from absl import app, flags

from ssl_gen import export
from ssl_gen.training import cli

flags.DEFINE_string("output_dir", None, "Run directory written by experiments/train.py.")
flags.DEFINE_string("export_dir", None, "Where to write the SavedModel.")
flags.DEFINE_string("data_path", None, "Override the run's data source with this .npz.")
flags.DEFINE_integer("candidates", 1, "Export `generate` as the best-of-K sampler (ssl_gen/sampling.py): "
                     "each image is the one of K draws that the model's classifier finds most likely of its "
                     "label.", lower_bound=1)
flags.DEFINE_float("latent_scale", 1.0, "Export `sample_latents` and `generate` with latents shrunk toward the "
                   "prior's centre, z' = c + s (z - c) (ssl_gen/sampling.py).", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_bool("overwrite", False, "Replace what --export_dir already holds.")
flags.mark_flags_as_required(["output_dir", "export_dir"])


def main(argv):
    del argv
    values = flags.FLAGS
    metadata = export.export_run(values.output_dir, values.export_dir, values.data_path, values.candidates,
                                  values.latent_scale, values.overwrite)
    print(json.dumps({key: value for key, value in metadata.items() if not key.endswith("_indices")}, indent=2))


if __name__ == "__main__":
    app.run(cli.reporting_user_errors(main))
