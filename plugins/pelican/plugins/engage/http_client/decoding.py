"""Content-Encoding undone here, a piece at a time, so every piece is counted before the next.

httpx decodes a whole received chunk at once: a few kilobytes of zstd can
become hundreds of megabytes before any cap is checked. These readers pull
(gzip, deflate, zstd; at most MAX_ENCODINGS layers) and never produce more
than they are asked for; a zstd window is capped at MAX_ZSTD_WINDOW.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import IO, Protocol, cast

import httpx

DECODE_STEP = 64 * 1024  # decoded bytes produced at a time, counted before the next
MAX_ENCODINGS = 2  # Content-Encoding layers; a stack of bombs is refused, not unwrapped
MAX_ZSTD_WINDOW = 8 * 1024 * 1024  # what RFC 9659 asks HTTP zstd decoders to accept


class Source(Protocol):
    def read(self, size: int) -> bytes: ...


class Raw:
    """The body as it arrives (still encoded), counted."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self._at = 0
        self.received = 0

    def read(self, size: int) -> bytes:
        while self._at >= len(self._pending):
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self.received += len(chunk)
            self._pending, self._at = chunk, 0
        piece = self._pending[self._at : self._at + size]
        self._at += len(piece)
        return piece


class _Inflate:
    """gzip or deflate (zlib-wrapped, else raw, as httpx guesses), never more than asked."""

    def __init__(self, source: Source, encoding: str) -> None:
        self._source = source
        self._wbits = zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(self._wbits)
        self._started = False
        self._ended = False

    def read(self, size: int) -> bytes:
        while not self._ended and not self._zlib.eof:
            data = self._zlib.unconsumed_tail or self._source.read(DECODE_STEP)
            if not data:
                self._ended = True
                return self._zlib.flush()
            try:
                out = self._zlib.decompress(data, size)
            except zlib.error as exc:
                if self._started or self._wbits != zlib.MAX_WBITS:
                    raise httpx.DecodingError(str(exc)) from None
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate after all
                self._wbits = -zlib.MAX_WBITS
                out = self._zlib.decompress(data, size)
            self._started = True
            if out:
                return out
        return b""


class _Unzstd:
    """zstd, through the library's bounded stream reader, with a capped window."""

    def __init__(self, source: Source) -> None:
        import zstandard

        self._error = zstandard.ZstdError
        decompressor = zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW)
        # zstandard reads any object with read(size); its stubs ask for a file.
        self._reader = decompressor.stream_reader(
            cast(IO[bytes], source), read_size=DECODE_STEP, read_across_frames=True
        )

    def read(self, size: int) -> bytes:
        try:
            return bytes(self._reader.read(size))
        except self._error as exc:
            raise httpx.DecodingError(str(exc)) from None


def decoder(content_encoding: str, raw: Raw) -> Source | None:
    """The decoded body as a source of pieces; None when it is encoded too many times.

    Encodings httpx would not decode either (``br`` without brotli, say) are left as they are.
    """
    layers = [v.strip().lower() for v in content_encoding.split(",") if v.strip()]
    layers = [v for v in layers if v in ("gzip", "x-gzip", "deflate", "zstd")]
    if len(layers) > MAX_ENCODINGS:
        return None
    source: Source = raw
    for layer in reversed(layers):  # the last one applied is the first undone
        source = _Unzstd(source) if layer == "zstd" else _Inflate(source, layer.removeprefix("x-"))
    return source
