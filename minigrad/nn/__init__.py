"""minigrad.nn: modules, layers, losses, initialisation -- PyTorch's names and defaults.

    from minigrad import nn
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    loss = nn.MSELoss()(model(x), y)
"""
from minigrad.nn.parameter import Parameter  # noqa: F401
from minigrad.nn.module import Module  # noqa: F401
from minigrad.nn.container import ModuleDict, ModuleList, Sequential  # noqa: F401
from minigrad.nn.linear import Identity, Linear  # noqa: F401
from minigrad.nn.embedding import Embedding  # noqa: F401
from minigrad.nn.dropout import Dropout  # noqa: F401
from minigrad.nn.normalization import LayerNorm  # noqa: F401
from minigrad.nn.activation import LogSoftmax, ReLU, Sigmoid, Softmax, Tanh  # noqa: F401
from minigrad.nn.loss import CrossEntropyLoss, MSELoss, NLLLoss  # noqa: F401
from minigrad.nn import functional, init, utils  # noqa: F401
from minigrad.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: F401
