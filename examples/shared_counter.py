"""Two processes exchanging data through a shared Region, in turn, over pipes.

Run it from a checkout (or without PYTHONPATH once rawmmap is installed)::

    PYTHONPATH=. python3 examples/shared_counter.py

The producer (this script) creates a named POSIX shared memory object and
starts a consumer (this script again, with ``--consumer NAME``) that maps
the same object. For each word, the producer stores the word in the shared
memory and writes one byte to the consumer's stdin pipe ("your turn"); the
consumer reads the word from the memory, stores its answer there, adds one
to a counter in the memory, and writes one byte to its stdout pipe ("done").
The data travel through the shared memory; the pipes only say whose turn it
is. The producer unlinks the object at the end, even after an error.

Why pipes, and not a loop that polls the counter: CPython gives no atomic
operations and no memory fences. Another CPU may see the stores into the
Region in a different order than they were made (ARM and POWER do this;
x86 mostly does not), and a field of several bytes may be read half
written. A lock-free scheme such as a seqlock (a sequence number that is odd
while the writer works) needs acquire/release fences that Python cannot
express; it would seem to work on x86 and fail rarely elsewhere. A pipe's
write(2) and read(2) synchronise through the kernel, which takes locks on
both sides: everything stored before write() is visible after the matching
read() returns. A ``multiprocessing`` lock or a socket works the same way.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from typing import IO

import rawmmap

SIZE = 4096
#: Layout: counter (u64), request length (u32), answer length (u32), then the texts.
HEADER = struct.Struct("<QII")
REQUEST_AT = HEADER.size
ANSWER_AT = REQUEST_AT + 1024
YOUR_TURN, DONE, QUIT = b"t", b"d", b"q"


def read_byte(pipe: IO[bytes]) -> bytes:
    """Read one byte from a pipe, failing loudly if the other side has gone."""
    byte = pipe.read(1)
    if not byte:
        raise RuntimeError("the other process closed its pipe")
    return byte


def consumer(name: str) -> None:
    """Answer each request in the shared memory with its text in capitals."""
    with rawmmap.map_shared_memory(name) as region:
        while read_byte(sys.stdin.buffer) == YOUR_TURN:
            counter, request_length, _ = HEADER.unpack(region.read(0, HEADER.size))
            request = region.read(REQUEST_AT, request_length)
            answer = request.upper()
            region.write(ANSWER_AT, answer)
            region.write(0, HEADER.pack(counter + 1, request_length, len(answer)))
            sys.stdout.buffer.write(DONE)
            sys.stdout.buffer.flush()


def producer(words: list[str]) -> None:
    """Create the shared memory, start the consumer and exchange ``words`` with it."""
    name = f"/rawmmap-example-{os.getpid()}"
    region = rawmmap.map_shared_memory(name, SIZE, create=True, exclusive=True)
    try:
        print(f"producer: created a {SIZE}-byte shared memory object")
        child = subprocess.Popen(
            [sys.executable, __file__, "--consumer", name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert child.stdin is not None and child.stdout is not None
        with child, region:
            for word in words:
                request = word.encode()
                counter, _, _ = HEADER.unpack(region.read(0, HEADER.size))
                region.write(REQUEST_AT, request)
                region.write(0, HEADER.pack(counter, len(request), 0))
                child.stdin.write(YOUR_TURN)
                child.stdin.flush()
                read_byte(child.stdout)
                counter, _, answer_length = HEADER.unpack(region.read(0, HEADER.size))
                answer = region.read(ANSWER_AT, answer_length).decode()
                print(f"producer: sent {word!r}, consumer answered {answer!r}, counter={counter}")
            child.stdin.write(QUIT)
            child.stdin.close()
        print(f"producer: consumer exited with status {child.returncode}")
    finally:
        region.munmap()
        rawmmap.shm_unlink(name)
        print("producer: shared memory object unlinked")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--consumer"]:
        consumer(sys.argv[2])
    else:
        producer(["shared", "memory", "between", "processes"])
