"""The ``parse`` benchmark: frames per second for streams of masked client frames.

Four streams (small 32 B frames, medium 4 KiB, large 1 MiB, and a *mixed* one where
every length encoding and the odd Ping appear) are fed in 64 KiB chunks to wslearn's
``FrameReader``, to websockets' ``Frame.parse`` (with its C mask and with the
pure-Python one swapped in) and to wsproto's ``FrameProtocol``. One more row is an
experiment: wslearn's reader with websockets' C mask swapped in, to show how much of
the gap is the mask itself.
"""

from __future__ import annotations

import os
import random
import struct
import time
from typing import Callable, Dict, List, Optional, Tuple

import websockets.frames
import websockets.streams
import websockets.utils
import wsproto.frame_protocol

import wslearn.reader
from benchmarks.common import KiB, MiB, Settings, fmt_count, median, table, websockets_c_mask
from wslearn.reader import FrameReader


def masked_frame(payload: bytes, opcode: int = 0x2, key: Optional[bytes] = None) -> bytes:
    """One final client frame (RFC 6455 §5.2), masked with ``key`` (a random one if None)."""
    key = key if key is not None else os.urandom(4)
    n = len(payload)
    if n <= 125:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + key + websockets.utils.apply_mask(payload, key)


def make_streams(scale: float) -> Dict[str, Tuple[bytes, int]]:
    """name -> (stream of masked client frames, number of frames)."""
    rng = random.Random(1)
    streams = {}

    def build(sizes: List[int], pings: int = 0) -> Tuple[bytes, int]:
        frames = [masked_frame(rng.randbytes(n)) for n in sizes]
        for _ in range(pings):
            frames.insert(rng.randrange(len(frames)), masked_frame(b"ping", opcode=0x9))
        return b"".join(frames), len(frames)

    streams["small (32 B)"] = build([32] * max(200, int(20000 * scale)))
    streams["medium (4 KiB)"] = build([4 * KiB] * max(20, int(1000 * scale)))
    streams["large (1 MiB)"] = build([MiB] * max(2, int(16 * scale)))
    # Mixed: mostly small messages, some medium and large ones, the odd Ping, as a chat
    # or a game sends them: every length encoding (7-bit, 16-bit, 64-bit) appears.
    mixed = []
    for _ in range(max(100, int(4000 * scale))):
        r = rng.random()
        if r < 0.70:
            mixed.append(rng.randrange(1, 126))
        elif r < 0.95:
            mixed.append(rng.randrange(126, 8 * KiB))
        elif r < 0.995:
            mixed.append(rng.randrange(8 * KiB, 64 * KiB))
        else:
            mixed.append(rng.randrange(64 * KiB, 1 * MiB))
    streams["mixed"] = build(mixed, pings=len(mixed) // 100)
    return streams


def chunked(stream: bytes, size: int = 64 * KiB) -> List[bytes]:
    """The stream cut in pieces of ``size`` bytes, as a socket might hand them out."""
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def parse_wslearn(chunks: List[bytes]) -> int:
    """How many frames wslearn's ``FrameReader`` parses out of ``chunks``."""
    reader = FrameReader(None, expect_masked=True)
    count = 0
    for chunk in chunks:
        reader.feed(chunk)
        for _ in reader:
            count += 1
    return count


def parse_wslearn_with_c_mask(chunks: List[bytes]) -> int:
    """An experiment, not a way to run wslearn: its reader with websockets' C mask swapped in.

    Beside the plain row it says how much of the gap to websockets is the mask itself.
    """
    assert websockets_c_mask is not None
    c_mask = websockets_c_mask

    def c_in_place(payload: memoryview, key: bytes) -> None:
        payload[:] = c_mask(payload, key)

    saved = wslearn.reader.unmask, wslearn.reader.unmask_in_place
    wslearn.reader.unmask, wslearn.reader.unmask_in_place = c_mask, c_in_place
    try:
        return parse_wslearn(chunks)
    finally:
        wslearn.reader.unmask, wslearn.reader.unmask_in_place = saved


#: The experiment's row, and the ratio printed for it.
WITH_C_MASK = "(experiment) wslearn FrameReader, websockets' C mask swapped in"


def _websockets_parser(apply_mask: Callable) -> Callable[[List[bytes]], int]:
    """A parse function: websockets' ``Frame.parse`` with ``apply_mask`` as its mask."""

    def parse(chunks: List[bytes]) -> int:
        saved = websockets.frames.apply_mask
        websockets.frames.apply_mask = apply_mask
        try:
            reader = websockets.streams.StreamReader()
            frames: List[object] = []

            def loop():
                while True:
                    frame = yield from websockets.frames.Frame.parse(
                        reader.read_exact, mask=True, max_size=None
                    )
                    frames.append(frame)

            parser = loop()
            next(parser)
            for chunk in chunks:
                reader.feed_data(chunk)
                next(parser)
            return len(frames)
        finally:
            websockets.frames.apply_mask = saved

    return parse


def parse_wsproto(chunks: List[bytes]) -> int:
    """How many whole frames wsproto's ``FrameProtocol`` parses out of ``chunks``."""
    protocol = wsproto.frame_protocol.FrameProtocol(client=False, extensions=[])
    count = 0
    for chunk in chunks:
        protocol.receive_bytes(chunk)
        for frame in protocol.received_frames():
            if frame.frame_finished:  # wsproto hands out large payloads in pieces
                count += 1
    return count


def bench(settings: Settings) -> dict:
    """Frames per second of every parser on every stream, and wslearn's ratio to each."""
    parsers: Dict[str, Callable[[List[bytes]], int]] = {"wslearn FrameReader": parse_wslearn}
    if websockets_c_mask is not None:
        parsers["websockets Frame.parse (C mask)"] = _websockets_parser(websockets_c_mask)
    parsers["websockets Frame.parse (pure Python)"] = _websockets_parser(
        websockets.utils.apply_mask
    )
    parsers["wsproto FrameProtocol"] = parse_wsproto
    if websockets_c_mask is not None:
        parsers[WITH_C_MASK] = parse_wslearn_with_c_mask
    results: Dict[str, Dict[str, float]] = {name: {} for name in parsers}
    ratios: Dict[str, Dict[str, float]] = {name: {} for name in parsers}
    for stream_name, (stream, count) in make_streams(settings.parse_scale).items():
        chunks = chunked(stream)
        rounds: Dict[str, List[float]] = {name: [] for name in parsers}
        for _ in range(settings.parse_repeats):
            for name, parse in parsers.items():
                start = time.perf_counter()
                got = parse(chunks)
                seconds = time.perf_counter() - start
                if got != count:
                    raise AssertionError(f"{name} parsed {got} frames of {count} ({stream_name})")
                rounds[name].append(count / seconds)
        for name in parsers:
            results[name][stream_name] = median(rounds[name])
            ratios[name][stream_name] = median(
                [a / b for a, b in zip(rounds["wslearn FrameReader"], rounds[name])]
            )
        if WITH_C_MASK in parsers and websockets_c_mask is not None:
            c_name = "websockets Frame.parse (C mask)"
            ratios.setdefault("experiment / websockets C", {})[stream_name] = median(
                [a / b for a, b in zip(rounds[WITH_C_MASK], rounds[c_name])]
            )
    return {"frames_per_s": results, "wslearn_ratio": ratios}


def print_result(result: dict) -> None:
    """The section's title and its table: a row a parser, a column a stream, then the ratios."""
    print("\n## parse: frames per second, masked client frames fed in 64 KiB chunks\n")
    names = list(next(iter(result["frames_per_s"].values())).keys())
    rows = [
        [parser] + [fmt_count(by[s]) for s in names]
        for parser, by in result["frames_per_s"].items()
    ]
    for parser, by in result["wslearn_ratio"].items():
        if parser == "experiment / websockets C":
            label = "(experiment) / websockets Frame.parse (C mask)"
        elif parser in ("wslearn FrameReader", WITH_C_MASK):
            continue
        else:
            label = f"wslearn / {parser}"
        rows.append([label] + [f"{by[s]:.2f}x" for s in names])
    print(table(["parser"] + names, rows))
