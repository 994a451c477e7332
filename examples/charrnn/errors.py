"""Bad input is a CharRNNError: char_rnn.py prints its message as one line and exits non-zero."""


class CharRNNError(Exception):
    """A problem with the user's input (file, options, checkpoint), not a bug."""
