"""What a plain HTTP request gets: the test page's files, or 404 / 405 (no socket needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

import wslearn
from wslearn.static_files import page_response, static_file

STATIC = Path(wslearn.__file__).parent / "static"


@pytest.mark.parametrize(
    "path, served",
    [
        ("/", "index.html"),
        ("/index.html", "index.html"),
        ("/nope.js", None),
        ("/../server.py", None),
        ("/static/index.html", None),
        ("/..%2fserver.py", None),
        ("/.hidden.js", None),
        ("/%2e%2e/server.py", None),
        ("/__init__.py", None),
    ],
)
def test_static_file_serves_only_plain_names_in_the_static_folder(path, served):
    file = static_file(path)
    assert (file.name if file is not None else None) == served


def test_get_of_the_page_is_200_with_the_file_and_its_content_type():
    status, response = page_response("GET", "/")
    head, body = response.split(b"\r\n\r\n", 1)
    assert status == 200 and head.startswith(b"HTTP/1.1 200 ")
    assert b"Content-Type: text/html; charset=utf-8" in head
    assert body == (STATIC / "index.html").read_bytes()


def test_get_of_anything_else_is_404():
    status, response = page_response("GET", "/../server.py")
    assert status == 404 and response.startswith(b"HTTP/1.1 404 ")
    assert b"/../server.py not found" in response


def test_head_gets_the_headers_without_the_body():
    status, response = page_response("HEAD", "/")
    assert status == 200 and response.endswith(b"\r\n\r\n")
    assert response == page_response("GET", "/")[1].split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"


def test_other_methods_are_405_and_say_which_one_is_allowed():
    status, response = page_response("POST", "/")
    assert status == 405 and b"Allow: GET" in response
