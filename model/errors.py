"""The one error type the model tooling raises for bad input: `python -m model` prints it as a
single line (no traceback) and exits non-zero. Library callers catch `ModelError`."""


class ModelError(Exception):
    """Bad input or a refused operation; the message names the file and the problem."""


class BadInput(ModelError):
    """A file or directory that is not what the command needs (dataset, trace, checkpoint)."""


class ModelVersionError(ModelError):
    """A model whose encoding this code does not implement."""


class EvalError(ModelError):
    """An evaluation that cannot be run as asked."""
