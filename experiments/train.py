"""Train a semi-supervised generator P(x|y) and classifier P(y|x).

python experiments/train.py --dataset=mnist --num_labeled=100 --output_dir=runs/mnist100
"""

from absl import app, flags, logging

from ssl_gen.training import cli, train

cli.define_config_flags()
flags.adopt_module_key_flags(cli)  # --help lists the flags training/cli.py defines, not only this module's
flags.mark_flag_as_required("output_dir")


def main(argv):
    del argv
    config = cli.config_from_flags(flags.FLAGS)
    metrics = train.run(config)
    logging.info("final: %s", metrics)


if __name__ == "__main__":
    app.run(cli.reporting_user_errors(main))
