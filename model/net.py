"""The next-task LSTM: an LSTM over per-switch step features carries a per-CPU state; each
candidate is scored by a small MLP over (state, candidate features). Absent slots get -1e9."""
import torch
from torch import nn

ABSENT = -1e9


class OracleNet(nn.Module):
    def __init__(self, step_dim, cand_dim, hidden=64, layers=1, score_hidden=64, pool=16):
        super().__init__()
        self.config = dict(step_dim=step_dim, cand_dim=cand_dim, hidden=hidden, layers=layers,
                           score_hidden=score_hidden, pool=pool)
        self.lstm = nn.LSTM(step_dim, hidden, layers, batch_first=True)
        self.from_state = nn.Linear(hidden, score_hidden)
        self.from_cand = nn.Linear(cand_dim, score_hidden, bias=False)
        # A summary of the whole candidate set (max of an embedding) lets a candidate's score
        # depend on the others: "waited longest of those here" is relative. No bias, so an
        # absent (all-zero) slot embeds to 0 and never wins the max of ReLUs.
        self.pool = pool
        if pool:
            self.embed = nn.Linear(cand_dim, pool, bias=False)
            self.from_pool = nn.Linear(pool, score_hidden, bias=False)
        # the last layer has no bias: a constant shift changes no ranking and costs a graph node
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(score_hidden, score_hidden // 2), nn.ReLU(),
                                  nn.Linear(score_hidden // 2, 1, bias=False))

    def score(self, out, cands):
        """out [..., H], cands [..., K, C] -> scores [..., K]; column 0 of a candidate is `present`."""
        z = self.from_state(out).unsqueeze(-2) + self.from_cand(cands)
        if self.pool:
            pooled = torch.relu(self.embed(cands)).max(-2).values
            z = z + self.from_pool(pooled).unsqueeze(-2)
        s = self.head(z).squeeze(-1)
        return torch.where(cands[..., 0] > 0, s, torch.full_like(s, ABSENT))

    def forward(self, steps, cands, state=None):
        """steps [B, T, S], cands [B, T, K, C] -> scores [B, T, K], (h, c)."""
        out, state = self.lstm(steps, state)
        return self.score(out, cands), state

    def zero_state(self, batch):
        shape = (self.config["layers"], batch, self.config["hidden"])
        return torch.zeros(shape), torch.zeros(shape)


class OneStep(nn.Module):
    """The exported graph: one decision, state in and out, so the agent pays one LSTM step."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, step, cands, h, c):
        out, (h2, c2) = self.net.lstm(step.unsqueeze(1), (h, c))
        return self.net.score(out[:, 0], cands), h2, c2


class Window(nn.Module):
    """Optional export: a whole window from a zero state (for offline scoring)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, steps, cands):
        return self.net(steps, cands)[0]
