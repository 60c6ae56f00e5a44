"""The views package: its public names, and what importing it loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "wslearn"


def test_importing_wslearn_views_does_not_import_matplotlib_or_ipywidgets():
    code = (
        "import sys, wslearn.views; "
        "print(any(m.split('.')[0] in ('matplotlib', 'ipywidgets') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_public_name_comes_from_the_module_of_its_view():
    import wslearn.views
    from wslearn.views import (
        benchmark,
        bits,
        describe,
        flow,
        line,
        live,
        sequence,
        table,
        timeline,
    )

    homes = {
        benchmark: ["plot_concurrency"],
        flow: ["plot_flow"],
        sequence: ["SequenceEvent", "connection_events", "sequence_diagram"],
        timeline: ["plot_backlog", "plot_keepalive"],
        table: ["COLUMNS", "FramesTable", "frames_table"],
        bits: ["Field", "bit_diagram", "header_fields"],
        live: ["LiveView"],
        describe: ["describe_frame"],
        line: ["format_frame"],
    }
    for module, names in homes.items():
        for name in names:
            assert getattr(wslearn.views, name) is getattr(module, name), name
    assert sorted(wslearn.views.__all__) == sorted(n for names in homes.values() for n in names)
    with pytest.raises(AttributeError):
        wslearn.views.no_such_view  # noqa: B018


def test_importing_the_log_line_loads_no_other_view():
    # The server imports wslearn.views.line for its log. Load it the way a lighter
    # wslearn/__init__.py would (without importing the views itself): only the line comes.
    code = (
        "import sys, types; "
        f"package = types.ModuleType('wslearn'); package.__path__ = [{str(PACKAGE)!r}]; "
        "sys.modules['wslearn'] = package; "
        "import wslearn.views.line; "
        "print(sorted(m for m in sys.modules if m.startswith(('wslearn.views', 'matplotlib', "
        "'ipywidgets', 'IPython'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['wslearn.views', 'wslearn.views.line']"
