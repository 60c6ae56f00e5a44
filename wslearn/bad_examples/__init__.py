"""Bad examples: code kept so that the course can run it and watch it fail. Do not copy it.

:mod:`wslearn.bad_examples.toy_server` is the "WebSocket server in 40 lines" of old blog posts,
mistakes included, which notebook 08 puts side by side with the real server.
:mod:`wslearn.bad_examples.foreign_site` is an attacker's page on "another site"
(``http://evil.localhost:PORT/``) that tries to open a WebSocket to your server, so notebook 08
can show a real browser being refused by the server's Origin check. Nothing else in
``wslearn`` imports from here; the protocol lives in :mod:`wslearn.connection` and
:func:`wslearn.serve`.
"""
