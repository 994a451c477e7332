"""Command-line pieces the examples share: a parser whose usage errors are one line, and
option types that refuse what would only fail later (a zero batch, a NaN rate, ...)."""
import argparse


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (not the usage block) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _number(convert, text, ok, what):
    """`text` as a number by `convert` (int or float), refused unless ok(value) (NaN fails
    every comparison the types below make)."""
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got {str(text).strip()}")
    return value


def positive_int(text):
    return _number(int, text, lambda v: v >= 1, "a positive integer")


def non_negative_int(text):
    return _number(int, text, lambda v: v >= 0, "an integer >= 0")


def seed_value(text):
    return _number(int, text, lambda v: 0 <= v < 2 ** 63, "a seed in [0, 2**63)")


def positive_float(text):
    return _number(float, text, lambda v: 0 < v < float("inf"), "a positive number")


def non_negative_float(text):
    return _number(float, text, lambda v: 0 <= v < float("inf"), "a number >= 0")


def dropout_p(text):
    return _number(float, text, lambda v: 0 <= v < 1, "a probability in [0, 1)")


def fraction(text):
    return _number(float, text, lambda v: 0 < v < 1, "a fraction strictly between 0 and 1")


def int_list(minimum):
    """A type for a comma-separated list of integers, each at least `minimum`, at least one."""
    def parse(text):
        items = [item.strip() for item in text.split(",") if item.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"expected integers >= {minimum}, comma-separated, "
                                             f"got {text!r}")
        return [_number(int, item, lambda v: v >= minimum, f"integers >= {minimum}")
                for item in items]
    return parse


def name_list(choices):
    """A type for a comma-separated, non-empty subset of `choices` (case-insensitive)."""
    def parse(text):
        names = [name.strip().lower() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in choices]
        if not names or unknown:
            raise argparse.ArgumentTypeError(f"expected names from {', '.join(choices)}, "
                                             f"comma-separated, got {text!r}")
        return names
    return parse
