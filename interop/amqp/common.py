"""Shared by the python-qpid-proton interop scripts: the test message shape."""

N_DEFAULT = 10_000
LARGE_SIZE = 100_000


def body(i: int, n: int) -> bytes:
    """Message i: 'message <i> ' padded with dots; the middle one is larger than any frame."""
    size = LARGE_SIZE if i == n // 2 else 100
    b = f"message {i} ".encode()
    return b + b"." * max(0, size - len(b))


def index_of(b) -> int:
    return int(bytes(b).split(b" ")[1])
