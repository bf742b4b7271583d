"""The one-step graph written node by node from the trained weights, instead of traced.

Every ONNX Runtime node costs a fixed 0.2-0.5 us per call, more than this network's arithmetic,
and its LSTM operator alone costs ~7 us for one step; so the cell is spelled out in 13 plain ops
(one MatMul for both gate products, one Sigmoid for the three gates) and biases that shift every
candidate alike are folded into weights. Same inputs, outputs and metadata as the traced graph;
export.py checks its scores against PyTorch."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

ABSENT = -1e9


def _np(t):
    return t.detach().cpu().numpy().astype(np.float32)


def lean_onestep(net, k, opset):
    cfg = net.config
    if cfg["layers"] != 1:
        raise ValueError("the lean graph is written for a 1-layer LSTM")
    S, C, H = cfg["step_dim"], cfg["cand_dim"], cfg["hidden"]
    lstm = net.lstm
    # PyTorch gate rows are i, f, g, o; reorder to i, f, o, g so one Sigmoid covers i, f, o
    order = np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]
    w = np.concatenate([_np(lstm.weight_ih_l0), _np(lstm.weight_hh_l0)], 1)[order].T   # [S+H, 4H]
    b = (_np(lstm.bias_ih_l0) + _np(lstm.bias_hh_l0))[order]
    w_state = _np(net.from_state.weight).T                     # [H, D]
    w_cand = _np(net.from_cand.weight).T.copy()                # [C, D]
    w_cand[0] += _np(net.from_state.bias)                      # column 0 is `present`: 1 in every live slot
    head1, head2 = net.head[1], net.head[3]
    inits = {"w_gates": w, "b_gates": b, "w_state": w_state, "w_cand": w_cand,
             "w_h1": _np(head1.weight).T, "b_h1": _np(head1.bias), "w_h2": _np(head2.weight).T,
             "ax0": np.array([0], np.int64), "ax2": np.array([2], np.int64),
             "split_gates": np.array([3 * H, H], np.int64),
             "split_ifo": np.array([H, H, H], np.int64), "col0": np.array(0, np.int64),
             "zero": np.array(0.0, np.float32), "absent": np.array(ABSENT, np.float32)}
    n = helper.make_node
    nodes = [
        # LSTM cell; h, c are [1, B, H]
        n("Unsqueeze", ["step", "ax0"], ["x3"]),
        n("Concat", ["x3", "h"], ["xh"], axis=2),
        n("MatMul", ["xh", "w_gates"], ["g0"]),
        n("Add", ["g0", "b_gates"], ["g"]),
        n("Split", ["g", "split_gates"], ["ifo_in", "g_in"], axis=2),
        n("Sigmoid", ["ifo_in"], ["ifo"]),
        n("Tanh", ["g_in"], ["gg"]),
        n("Split", ["ifo", "split_ifo"], ["i", "f", "o"], axis=2),
        n("Mul", ["f", "c"], ["fc"]),
        n("Mul", ["i", "gg"], ["ig"]),
        n("Add", ["fc", "ig"], ["c_out"]),
        n("Tanh", ["c_out"], ["tc"]),
        n("Mul", ["o", "tc"], ["h_out"]),
        # scores: relu(state + candidate + set summary) -> relu(linear) -> linear
        n("Transpose", ["h_out"], ["hb"], perm=[1, 0, 2]),
        n("MatMul", ["hb", "w_state"], ["a"]),
        n("MatMul", ["cands", "w_cand"], ["bc"]),
    ]
    if net.pool:
        inits["w_embed"] = _np(net.embed.weight).T
        inits["w_pool"] = _np(net.from_pool.weight).T
        nodes += [
            n("MatMul", ["cands", "w_embed"], ["e0"]),
            n("Relu", ["e0"], ["e"]),
            n("ReduceMax", ["e"], ["p"], axes=[1], keepdims=1),
            n("MatMul", ["p", "w_pool"], ["pz"]),
            n("Add", ["a", "pz"], ["a2"]),
        ]
        state_term = "a2"
    else:
        state_term = "a"
    nodes += [
        n("Add", ["bc", state_term], ["z0"]),
        n("Relu", ["z0"], ["z"]),
        n("MatMul", ["z", "w_h1"], ["y0"]),
        n("Add", ["y0", "b_h1"], ["y1"]),
        n("Relu", ["y1"], ["y"]),
        n("MatMul", ["y", "w_h2"], ["s3"]),
        n("Squeeze", ["s3", "ax2"], ["s"]),
        n("Gather", ["cands", "col0"], ["present"], axis=2),
        n("Greater", ["present", "zero"], ["live"]),
        n("Where", ["live", "s", "absent"], ["scores"]),
    ]
    f = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, "scx_oracle_onestep",
        [helper.make_tensor_value_info("step", f, ["batch", S]),
         helper.make_tensor_value_info("cands", f, ["batch", k, C]),
         helper.make_tensor_value_info("h", f, [1, "batch", H]),
         helper.make_tensor_value_info("c", f, [1, "batch", H])],
        [helper.make_tensor_value_info("scores", f, ["batch", k]),
         helper.make_tensor_value_info("h_out", f, [1, "batch", H]),
         helper.make_tensor_value_info("c_out", f, [1, "batch", H])],
        [numpy_helper.from_array(v, name) for name, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             producer_name="scx_oracle model/lean_graph.py")
