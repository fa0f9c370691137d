"""Train the independent evaluator of a data set (all training labels); used only for judging runs.

python experiments/train_evaluator.py --data_path=../shared/data/mnist.npz
"""

from absl import app, flags, logging

from ssl_gen.training import cli
from ssl_gen import data as data_lib
from ssl_gen.evaluation import evaluator as evaluator_lib

flags.DEFINE_string("dataset", "mnist", "tfds data set name (ignored with --data_path).")
flags.DEFINE_string("data_path", "", "An .npz in the keras.datasets layout; overrides --dataset.")
flags.DEFINE_string("output_dir", None, "Where to cache the evaluator (default: the per-data-set cache "
                    "that experiments/evaluate.py looks in).")
flags.DEFINE_integer("epochs", 15, "Training epochs over all labeled training images.")
flags.DEFINE_integer("seed", 0, "Seed of the evaluator's initialisation and data order.")
flags.DEFINE_bool("if_missing", False, "Keep an evaluator already saved in the output directory for this "
                  "data set instead of training it again (one saved for other data is still an error).")


def main(argv):
    del argv
    values = flags.FLAGS
    data = data_lib.load(values.dataset, values.data_path)
    output_dir = values.output_dir or evaluator_lib.default_dir(data)
    if values.if_missing and evaluator_lib.exists(output_dir):
        evaluator = evaluator_lib.load(output_dir, data)
        logging.info("evaluator for %s kept from %s: test accuracy %.4f", data.spec.name, output_dir,
                     evaluator.test_accuracy)
        return
    evaluator = evaluator_lib.train(data, output_dir, epochs=values.epochs, seed=values.seed)
    logging.info("evaluator for %s saved in %s: test accuracy %.4f", data.spec.name, output_dir,
                 evaluator.test_accuracy)


if __name__ == "__main__":
    app.run(cli.reporting_user_errors(main))
