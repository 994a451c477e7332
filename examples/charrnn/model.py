"""CharModel: the next-character predictor.

    ids (T, B) int64 -> Embedding (T, B, E) -> LSTM | GRU | RNN (T, B, H)
        -> Dropout -> Linear -> logits (T*B, V)

The recurrent layer runs minigrad's fused C path (one kernel per layer for the
whole window); the decoder is one gemm over all T*B positions, and the loss is
one fused cross-entropy over them.  Parameter names follow PyTorch
(embed.weight, rnn.weight_ih_l0, ..., decoder.bias), so the same state dict
loads into the PyTorch twin that benchmarks/char_rnn.py builds.
"""
import minigrad
from minigrad import nn

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
ARCH_KEYS = ("model", "embed", "hidden", "layers")  # what fixes the parameter shapes


class CharModel(nn.Module):
    """Args: vocab_size V, embed E, hidden H, layers, model 'lstm' | 'gru' | 'rnn' (tanh),
    dropout (between recurrent layers and before the decoder, in training mode).

    forward(x (T, B) int64, state) -> (logits (T*B, V), state), where state is the
    recurrent state to carry into the next window: (h, c), each (layers, B, H), for
    an LSTM; h (layers, B, H) otherwise; None means zeros."""

    def __init__(self, vocab_size, embed=64, hidden=256, layers=2, model="lstm", dropout=0.0):
        super().__init__()
        if model not in CELLS:
            raise ValueError(f"CharModel: model must be one of {sorted(CELLS)}, got {model!r}")
        self.config = dict(model=model, embed=embed, hidden=hidden, layers=layers,
                           dropout=dropout, vocab_size=vocab_size)
        self.embed = nn.Embedding(vocab_size, embed)
        self.rnn = CELLS[model](embed, hidden, layers, dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.decoder = nn.Linear(hidden, vocab_size)

    @property
    def device(self):
        """Where the parameters live: 'cpu' or 'cuda:0' (model.to(device) moves them)."""
        return self.decoder.weight.device

    def tokens(self, ids):
        """Character ids (a numpy int64 array, e.g. (T, B)) as a tensor on the model's device."""
        return minigrad.from_numpy(ids).to(self.device)

    def forward(self, x, state=None):
        y, state = self.rnn(self.embed(x), state)
        y = self.drop(y)
        return self.decoder(y.reshape(-1, y.shape[-1])), state


def detach_state(state):
    """The state's values cut from the graph: the next window starts from them, but
    backward stops at the window boundary (truncated BPTT)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def state_tensors(state):
    """The state as a list of tensors (for a checkpoint): [h, c], [h] or []."""
    if state is None:
        return []
    return list(state) if isinstance(state, tuple) else [state]


def state_from_tensors(tensors, model, device="cpu"):
    """Inverse of state_tensors for a model of kind `model` ('lstm' gives a tuple), on
    `device` (checkpoints hold CPU tensors)."""
    if not tensors:
        return None
    tensors = [t.to(device) for t in tensors]
    return tuple(tensors) if model == "lstm" else tensors[0]


def count_parameters(module):
    return sum(p.numel() for p in module.parameters())


def build(config, vocab_size):
    """A fresh CharModel from a config dict (the options or a checkpoint's)."""
    return CharModel(vocab_size, embed=config["embed"], hidden=config["hidden"],
                     layers=config["layers"], model=config["model"],
                     dropout=config.get("dropout", 0.0))

