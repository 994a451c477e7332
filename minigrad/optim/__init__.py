"""minigrad.optim: optimizers whose updates run as fused C kernels, and lr schedulers.

    opt = minigrad.optim.Adam(model.parameters(), lr=1e-3)
    loss.backward(); opt.step(); opt.zero_grad()
"""
from minigrad.optim.optimizer import Optimizer  # noqa: F401
from minigrad.optim.sgd import SGD  # noqa: F401
from minigrad.optim.adam import Adam, AdamW  # noqa: F401
from minigrad.optim.adagrad import Adagrad  # noqa: F401
from minigrad.optim.rmsprop import RMSprop  # noqa: F401
from minigrad.optim import lr_scheduler  # noqa: F401
