"""The headless browser works: Chromium loads a page from a local HTTP server."""

from __future__ import annotations

import http.server
import threading

import pytest

PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>wslearn smoke test</title></head>
<body><p>Hello from a local server.</p></body></html>
"""


class _PageHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.mark.browser
def test_chromium_opens_a_local_page(browser) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        page = browser.new_page()
        try:
            page.goto(f"http://127.0.0.1:{port}/", timeout=30_000)
            assert page.title() == "wslearn smoke test"
            assert page.text_content("p") == "Hello from a local server."
        finally:
            page.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
