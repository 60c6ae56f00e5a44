"""The conformance command: Autobahn|Testsuite against wslearn's server (see README.md here).

``run.py`` drives a run, ``py2env.py`` owns the Python 2.7 side the suite needs,
``summary.py`` reads the suite's reports and writes ``SUMMARY.md``, and
``websockets_server.py`` is the reference server a run can be compared with.
"""
