"""Record what a real Chromium sends to a wslearn server, for the course to show.

    python tests/helpers/capture_browser_frames.py  # rewrites wslearn/data/chromium_frames.json
    python tests/helpers/capture_browser_frames.py --compression deflate
                                                    # wslearn/data/chromium_frames_deflate.json

Starts ``wslearn.serve(port=0)``, opens the server's own test page in headless Chromium (Debian's
``chromium``, driven by Playwright), and through the page's ``window.wslearnPage`` sends, one at a
time (each echo is awaited, so every ``recv()`` holds one message at most):

    "Hello", "Hello, 你好, 👋", text of 125, 126, 65536 and 70000 bytes, 256 bytes binary,

then closes with code 1000 and reason "bye". The JSON holds the browser's version, the handshake
request as the server recorded it (already redacted), the sizes of the server's ``recv()`` calls,
every frame the browser sent (header, key, length, first 64 payload bytes as they crossed the wire
and unmasked, where the frame starts in the byte stream), and what the page's close event said.

Notebooks 05 and 06 load the file, so the lesson shows a browser's real bytes even when no browser
is connected (under nbval) or when the browser is behind the Jupyter proxy (Binder, JupyterHub).
``tests/test_course_data.py`` checks the shipped file and compares it with a fresh capture.

With ``--compression deflate`` the server accepts Chromium's permessage-deflate offer (RFC 7692,
``wslearn.serve(compression="deflate")``) and the same messages are captured into a second file. Its
frames also say whether RSV1 was set, hold the whole unmasked (compressed) payload of each frame of
up to :data:`WHOLE_PAYLOAD` bytes, and the inflated message's length and first bytes; the JSON
adds the 101's ``Sec-WebSocket-Extensions`` answer.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import wslearn  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser

OUTPUT = ROOT / "wslearn" / "data" / "chromium_frames.json"
OUTPUT_DEFLATE = ROOT / "wslearn" / "data" / "chromium_frames_deflate.json"
#: With compression, a frame's whole payload is kept up to this many bytes (to inflate it by hand).
WHOLE_PAYLOAD = 1024
PREVIEW = 64  # payload bytes kept per frame
WAIT_MS = 15_000  # every wait in the browser is bounded by this
WAIT_S = 15.0

#: What the page sends, in order: (what, JavaScript that sends it through window.wslearnPage).
STEPS = [
    ('text "Hello"', 'wslearnPage.send("Hello")'),
    ('text "Hello, 你好, 👋"', 'wslearnPage.send("Hello, \\u4f60\\u597d, \\ud83d\\udc4b")'),
    ("text, 125 bytes", "wslearnPage.sendSize(125)"),
    ("text, 126 bytes", "wslearnPage.sendSize(126)"),
    ("text, 65536 bytes", "wslearnPage.sendSize(65536)"),
    ("text, 70000 bytes", "wslearnPage.sendSize(70000)"),
    ("binary, 256 bytes 00 01 … ff", "wslearnPage.sendBinary()"),
]
CLOSE = ('close 1000 "bye"', 'wslearnPage.close(1000, "bye")')


def _chromium_args() -> List[str]:
    try:
        from conftest import CHROMIUM_ARGS  # the flags the browser tests use

        return list(CHROMIUM_ARGS)
    except ImportError:  # pragma: no cover - run from elsewhere
        return ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]


def _frame_json(record: wslearn.FrameRecord, message: int, what: str) -> Dict[str, Any]:
    header = record.header
    return {
        "message": message,
        "what": what,
        "header_hex": header.hex(" "),
        "mask_hex": record.mask.hex(" ") if record.mask is not None else None,
        "fin": record.fin,
        "opcode": record.opcode,
        "opcode_name": record.opcode_name,
        "length": record.length,
        "length_case": record.length_case,
        "wire_preview_hex": record.wire_preview[:PREVIEW].hex(" "),
        "payload_preview_hex": record.payload_preview[:PREVIEW].hex(" "),
        "stream_offset": record.stream_offset,
    }


def _compressed_frame_json(record: wslearn.FrameRecord, message: int, what: str) -> Dict[str, Any]:
    """A frame of the compressed capture: the plain fields, RSV1, the whole payload if short,
    and what its message inflated to (first frames of compressed messages only)."""
    data = _frame_json(record, message, what)
    data["rsv1"] = record.rsv1
    if record.length <= WHOLE_PAYLOAD and len(record.payload_preview) == record.length:
        data["payload_hex"] = record.payload_preview.hex(" ")
    if record.inflated is not None:
        data["inflated_length"] = record.inflated.length
        data["inflated_preview_hex"] = record.inflated.preview[:PREVIEW].hex(" ")
    return data


def capture(
    browser: Optional["Browser"] = None, *, compression: Optional[str] = None
) -> Dict[str, Any]:
    """Run the capture and return the data (with ``browser``, reuse that Playwright Browser).

    ``compression="deflate"``: the server accepts permessage-deflate (see the module's doc).
    """
    if browser is None:
        from playwright.sync_api import sync_playwright

        path = shutil.which("chromium")
        if path is None:
            raise SystemExit("Debian's chromium is needed: sudo apt-get install -y chromium")
        with sync_playwright() as playwright:
            own = playwright.chromium.launch(
                executable_path=path, headless=True, args=_chromium_args()
            )
            try:
                return capture(own, compression=compression)
            finally:
                own.close()

    if compression is None:
        server = wslearn.serve(port=0, max_size=2**20)
    else:
        server = wslearn.serve(
            port=0, max_size=2**20, compression=compression, preview_bytes=WHOLE_PAYLOAD
        )
    try:
        page = browser.new_page()
        try:
            page.goto(server.http_url, timeout=WAIT_MS)
            page.wait_for_function("() => window.wslearnPage !== undefined", timeout=WAIT_MS)
            page.evaluate("url => wslearnPage.connect(url)", server.url)
            page.wait_for_function("() => wslearnPage.state() === 'OPEN'", timeout=WAIT_MS)
            whats = []
            for n, (what, js) in enumerate(STEPS, start=1):
                if not page.evaluate(js):
                    raise RuntimeError(f"the page did not send {what}")
                whats.append(what)
                # One message at a time: the echo is back before the next one leaves.
                page.wait_for_function("() => wslearnPage.pending() === 0", timeout=WAIT_MS)
                if len(server.wait_for_frames(n, timeout=WAIT_S)) < n:
                    raise RuntimeError(f"the server did not record {what}")
            page.evaluate(CLOSE[1])
            whats.append(CLOSE[0])
            page.wait_for_function("() => wslearnPage.state() === 'CLOSED'", timeout=WAIT_MS)
            close_events = [e for e in page.evaluate("wslearnPage.log") if e.get("type") == "close"]
            version = browser.version
        finally:
            page.close()
    finally:
        server.stop()

    (record,) = [c for c in server.recorder.connections() if c.status == 101]
    frames = server.recorder.frames(connection=record.id, direction="in")
    # Chromium may split one message into fragments (FIN=0, then CONT frames, §5.4): each frame
    # is labelled with the message it belongs to.
    labels = []
    message = 0
    for f in frames:
        if message >= len(whats):
            raise RuntimeError(
                f"more frames than messages: {[(f.opcode_name, f.length) for f in frames]}"
            )
        labels.append((message, whats[message]))
        if f.fin:
            message += 1
    if message != len(whats):
        raise RuntimeError(
            f"expected {len(whats)} messages from the browser, got "
            f"{[(f.opcode_name, f.length) for f in frames]}"
        )
    replies = server.recorder.frames(connection=record.id, direction="out")
    event = close_events[-1] if close_events else {}
    frame_json = _frame_json if compression is None else _compressed_frame_json
    data: Dict[str, Any] = {
        "about": (
            "What headless Chromium sent to wslearn.serve() over a direct connection "
            "(ws://127.0.0.1:<port>/), one message at a time. Rewritten by "
            "tests/helpers/capture_browser_frames.py."
        ),
        "captured": datetime.date.today().isoformat(),
        "browser": f"Chromium {version}",
        "user_agent": record.user_agent,
        "request": record.request_raw.decode("latin-1"),
        "reads": list(record.reads),
        "messages": whats,
        "frames": [frame_json(f, n, what) for f, (n, what) in zip(frames, labels)],
        "server_close_frame_hex": next(
            (
                f.header.hex(" ") + " " + f.payload_preview.hex(" ")
                for f in replies
                if f.opcode == 8
            ),
            None,
        ),
        "server_close_code": record.close_code,
        "server_close_reason": record.close_reason,
        "close_event": {
            "code": event.get("code"),
            "reason": event.get("reason"),
            "wasClean": event.get("wasClean"),
        },
    }
    if compression is not None:
        data["about"] = data["about"].replace(
            "one message at a time.",
            "one message at a time, with permessage-deflate accepted "
            f"(wslearn.serve(compression={compression!r})).",
        )
        data["extensions_answer"] = record.deflate.header() if record.deflate else None
    return data


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--compression",
        choices=["deflate"],
        help=f"accept permessage-deflate and write {OUTPUT_DEFLATE.name} instead",
    )
    args = parser.parse_args(argv)
    data = capture(compression=args.compression)
    output = OUTPUT if args.compression is None else OUTPUT_DEFLATE
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{data['browser']}: {len(data['frames'])} frames, reads {data['reads']}")
    print(f"wrote {output} ({output.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
