"""`python -m model export`: checkpoint -> ONNX one-step graph (+ optional window graph), with the
encoding spec in the model metadata and a PyTorch vs onnxruntime parity check on real steps."""
import json
from pathlib import Path

import numpy as np
import torch

from .atomic import replacing
from .checkpoint import load_checkpoint
from .encoding import candidate_width, step_width
from .errors import ModelError
from .lean_graph import lean_onestep
from .net import OneStep, Window


class ExportError(ModelError):
    """An export whose result does not match the trained network."""


OPSET = 17
META_ENCODING = "scx_oracle.encoding"
META_VERSION = "scx_oracle.encoding_version"
META_MODEL = "scx_oracle.model"
STEP_INPUTS = ["step", "cands", "h", "c"]
STEP_OUTPUTS = ["scores", "h_out", "c_out"]
PARITY_TOL = 1e-5
# Trained logits reach ~40, where float32 values are 3.8e-6 apart and PyTorch itself moves by
# ~1e-5 between float32 and float64: past |score| ~10 the bound is 8 float32 steps instead.
PARITY_ULPS = 8


def _atomic_onnx(model_proto, out):
    import onnx
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with replacing(out) as tmp:
        onnx.save(model_proto, str(tmp))


def _with_metadata(m, spec, model_info):
    import onnx
    onnx.checker.check_model(m)
    del m.metadata_props[:]
    for key, value in ((META_ENCODING, json.dumps(spec, sort_keys=True)),
                       (META_VERSION, str(spec["version"])),
                       (META_MODEL, json.dumps(model_info, sort_keys=True))):
        p = m.metadata_props.add()
        p.key, p.value = key, value
    m.producer_name = "scx_oracle model/export.py"
    return m


def export_onnx(net, spec, model_info, out, window_out=None, traced=False):
    """The one-step graph: written node by node (lean_graph.py) for a 1-layer LSTM, else (or
    with `traced`) traced by torch.onnx.export."""
    import onnx
    net.eval()
    k, sw, cw = spec["candidates"], step_width(spec), candidate_width(spec)
    layers, hidden = net.config["layers"], net.config["hidden"]
    if layers == 1 and not traced:
        graph = lean_onestep(net, k, OPSET)
        model_info = dict(model_info, graph="onestep-lean")
    else:
        args = (torch.zeros(1, sw), torch.zeros(1, k, cw), torch.zeros(layers, 1, hidden),
                torch.zeros(layers, 1, hidden))
        tmp = Path(str(out) + ".raw")
        torch.onnx.export(OneStep(net), args, str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=STEP_INPUTS, output_names=STEP_OUTPUTS,
                          dynamic_axes={"step": {0: "batch"}, "cands": {0: "batch"},
                                        "h": {1: "batch"}, "c": {1: "batch"},
                                        "scores": {0: "batch"}, "h_out": {1: "batch"},
                                        "c_out": {1: "batch"}})
        graph = onnx.load(str(tmp))
        tmp.unlink()
        model_info = dict(model_info, graph="onestep-traced")
    _atomic_onnx(_with_metadata(graph, spec, model_info), out)
    if window_out:
        tmp = Path(str(window_out) + ".raw")
        torch.onnx.export(Window(net), (torch.zeros(1, 8, sw), torch.zeros(1, 8, k, cw)), str(tmp),
                          dynamo=False, opset_version=OPSET, input_names=["steps", "cands"],
                          output_names=["scores"],
                          dynamic_axes={"steps": {0: "batch", 1: "time"},
                                        "cands": {0: "batch", 1: "time"},
                                        "scores": {0: "batch", 1: "time"}})
        _atomic_onnx(_with_metadata(onnx.load(str(tmp)), spec, dict(model_info, graph="window")),
                     window_out)
        tmp.unlink()


def parity(net, onnx_path, steps, cands):
    """Run one CPU's step sequence through PyTorch (whole sequence) and onnxruntime (one step at
    a time, carrying h, c); return the max abs difference of the scores of present slots."""
    import onnxruntime as ort
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    net.eval()
    with torch.no_grad():
        ref = net(torch.from_numpy(steps)[None], torch.from_numpy(cands)[None])[0][0].numpy()
    layers, hidden = net.config["layers"], net.config["hidden"]
    h = np.zeros((layers, 1, hidden), np.float32)
    c = np.zeros_like(h)
    worst, largest = 0.0, float(np.abs(ref[cands[:, :, 0] > 0]).max())
    for t in range(len(steps)):
        scores, h, c = sess.run(STEP_OUTPUTS, {"step": steps[t:t + 1], "cands": cands[t:t + 1],
                                               "h": h, "c": c})
        present = cands[t, :, 0] > 0
        worst = max(worst, float(np.abs(scores[0][present] - ref[t][present]).max()))
    return worst, largest


def parity_tolerance(largest):
    return max(PARITY_TOL, PARITY_ULPS * float(np.finfo(np.float32).eps) * largest)


def main(args):
    net, spec, info = load_checkpoint(args.checkpoint)
    export_onnx(net, spec, info, args.out, args.window_out, traced=args.traced)
    print(f"export: wrote {args.out}" + (f" and {args.window_out}" if args.window_out else ""))
    if args.parity_trace:
        from .encoding import encode_trace
        by_cpu = encode_trace(args.parity_trace, spec)
        steps = max(by_cpu.values(), key=len)[:args.parity_steps]
        diff, largest = parity(net, args.out, np.stack([s.step for s in steps]),
                               np.stack([s.cands for s in steps]))
        tol = parity_tolerance(largest)
        print(f"export: parity PyTorch vs onnxruntime over {len(steps)} steps: max abs diff "
              f"{diff:.2e} (scores up to {largest:.1f}; tolerance {tol:.1e})")
        if diff > tol:
            # A model that does not compute what was trained is not left behind as if it did.
            Path(args.out).unlink(missing_ok=True)
            raise ExportError(f"{args.out}: parity check failed: PyTorch and onnxruntime differ "
                              f"by {diff:.2e} > {tol:.1e}; the file was removed")
