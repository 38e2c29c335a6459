"""Files: weights files (checked before they are read), their metadata schema, and MNIST."""
from .mnist import MnistError, load_mnist
from .weights import WeightsError, load_model


def tool_inputs(parser, model_path, test_set=False):
    """A command's model (and with test_set, MNIST's test images and labels); a problem exits with 'error: ...',
    code 2."""
    try:
        model = load_model(model_path)
        return (model, *load_mnist()[2:]) if test_set else model
    except (WeightsError, MnistError, OSError) as e:
        parser.exit(2, f"error: {e}\n")
