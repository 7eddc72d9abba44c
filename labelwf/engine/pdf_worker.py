"""A PDF worker process: reads letters' HTML on its standard input, writes their PDFs on its output.

Started by ``pdf_pool`` (its ``main``); not a command for people.
Each request is an 8-byte length and the HTML (UTF-8); each answer a status byte (0: a PDF,
1: the rendering's error, as text), an 8-byte length and the bytes. The worker ends at the end
of its input: when the sender closes it, or when the sender dies, however it dies, so a worker
never outlives its sender by more than the PDF it is rendering.
"""

from __future__ import annotations

import os
import struct
import sys
from typing import IO

from .pdf import render_pdf

LENGTH = struct.Struct("!Q")
PDF, ERROR = 0, 1


def read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    """``size`` bytes from ``stream``, or None at its end (a partial record counts as the end)."""
    data = stream.read(size)
    return data if len(data) == size else None


def serve(requests: IO[bytes], answers: IO[bytes]) -> int:
    """Answer each request of ``requests`` on ``answers`` until the input ends; return how many."""
    served = 0
    while (header := read_exactly(requests, LENGTH.size)) is not None:
        html = read_exactly(requests, LENGTH.unpack(header)[0])
        if html is None:
            break
        try:
            status, payload = PDF, render_pdf(html.decode("utf-8"))
        except Exception as exc:  # the letter's failure, told to the sender; the worker goes on
            status, payload = ERROR, f"{type(exc).__name__}: {exc}".encode()
        answers.write(bytes([status]) + LENGTH.pack(len(payload)) + payload)
        answers.flush()
        served += 1
    return served


def main() -> None:
    """Serve on the standard streams; whatever a library prints goes to standard error, not into a PDF."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    render_pdf("<p></p>")  # load the fonts before the first letter
    serve(sys.stdin.buffer, answers)
