"""Saving and loading a trained model: weights, net config, encoding spec and training info."""
import torch

from .atomic import replacing
from .errors import BadInput
from .net import OracleNet


def save_checkpoint(path, net, spec, info):
    with replacing(path) as tmp:
        torch.save({"config": net.config, "state_dict": net.state_dict(), "spec": spec, "info": info}, tmp)


def load_checkpoint(path):
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or foreign file; torch's own text runs to a page
        text = str(e).strip()
        reason = ("it holds more than tensors" if "Weights only load failed" in text
                  else text.splitlines()[0] if text else type(e).__name__)
        raise BadInput(f"{path}: not a model checkpoint written by `python -m model train` ({reason})")
    if not isinstance(ck, dict) or not {"config", "state_dict", "spec"} <= ck.keys():
        raise BadInput(f"{path}: a torch file, but not a checkpoint written by `python -m model train`")
    net = OracleNet(**ck["config"])
    net.load_state_dict(ck["state_dict"])
    net.eval()
    return net, ck["spec"], ck["info"]
