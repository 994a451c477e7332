"""The pieces of examples/char_rnn.py: a character-level language model on minigrad.

    data.py        read a UTF-8 text, its vocabulary, the train/validation split, TBPTT batches
    model.py       CharModel: Embedding -> LSTM/GRU/RNN -> Dropout -> Linear
    train.py       the training loop: evaluation, checkpoints, resume, Ctrl-C
    sample.py      generation: temperature, top-k, a categorical draw -- all minigrad ops
    checkpoint.py  what a checkpoint holds, and checks on loading one
    progress.py    the tqdm bar, or a plain progress line without tqdm
    plot.py        the loss-curve PNG (matplotlib, optional)
    errors.py      CharRNNError: bad input, reported as one line
"""
