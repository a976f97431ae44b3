"""The C integer policy: every integer argument fits its C type, or an error says why.

ctypes truncates silently (``c_size_t(-1)`` is SIZE_MAX, ``c_int(2**40)`` is
0), so ``rawmmap.raw`` and the layers above convert and range-check every
integer here before any call: a non-integer (a bool, a float, a str) is a
TypeError, an integer out of range an OverflowError, both naming the call
and the argument.
"""

from __future__ import annotations

from rawmmap._foreign import INT_BITS, LONG_BITS, OFF_T_BITS, POINTER_BITS, SIZE_T_BITS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["RANGES", "check_range", "describe_call", "index"]

#: Inclusive ranges of the C types the calls take.
RANGES = {
    "void *": (0, (1 << POINTER_BITS) - 1),
    "size_t": (0, (1 << SIZE_T_BITS) - 1),
    "int": (-(1 << (INT_BITS - 1)), (1 << (INT_BITS - 1)) - 1),
    "unsigned int": (0, (1 << INT_BITS) - 1),
    "unsigned long": (0, (1 << LONG_BITS) - 1),
    "off_t": (-(1 << (OFF_T_BITS - 1)), (1 << (OFF_T_BITS - 1)) - 1),
    # mode_t is unsigned int on Linux and the BSDs but uint16_t on macOS; the
    # permission and set-id bits (0o7777) are all that shm_open(3) reads, and
    # they fit both.
    "mode_t": (0, 0o7777),
}


def index(value: object, label: str = "value") -> int:
    """Return ``value`` as an exact int, as ``operator.index`` does.

    (rawmmap avoids importing ``operator`` at start-up.)

    Raises:
        TypeError: ``value`` is a bool, or has no ``__index__`` (floats,
            strings, None); ``label`` names it in the message.
    """
    if type(value) is int:
        return value
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(f"{label} must be an integer, not {type(value).__name__}")
    result = type(value).__index__(value)  # type: ignore[attr-defined]
    if not isinstance(result, int):
        raise TypeError(f"__index__ returned non-int (type {type(result).__name__})")
    return int(result)


def check_range(call: str, name: str, value: object, ctype: str) -> int:
    """Return ``value`` as an int after checking it fits the C type ``ctype``.

    Args:
        call: the C call, for the message.
        name: the argument's name, for the message.
        value: an int, or an object with ``__index__`` (a bool is refused).
        ctype: one of ``"void *"``, ``"size_t"``, ``"int"``,
            ``"unsigned int"``, ``"unsigned long"``, ``"off_t"``,
            ``"mode_t"`` (permission bits).

    Raises:
        TypeError: ``value`` is not an integer (floats, strings, bools, None).
        OverflowError: ``value`` does not fit ``ctype``; ctypes would have
            truncated it silently.
    """
    low, high = RANGES[ctype]
    if type(value) is int and low <= value <= high:  # the common case, without a call
        return value
    number = index(value, f"{call}: {name}")
    if not low <= number <= high:
        raise OverflowError(
            f"{call}: {name}={number} does not fit the C type {ctype} ({low}..{high})"
        )
    return number


def describe_call(call: str, arguments: Sequence[tuple[str, object]]) -> str:
    """Format a call and its arguments for an error message.

    Addresses are shown in hex, and so are the addresses of ``ranges``, a
    list of (addr, length) pairs (process_madvise).
    """
    parts = []
    for name, value in arguments:
        if isinstance(value, int) and name in ("addr", "old_address", "new_address"):
            parts.append(f"{name}={value:#x}")
        elif name == "ranges" and isinstance(value, list):
            pairs = ", ".join(f"({addr:#x}, {length})" for addr, length in value)
            parts.append(f"{name}=[{pairs}]")
        else:
            parts.append(f"{name}={value!r}")
    return f"{call}({', '.join(parts)})"
