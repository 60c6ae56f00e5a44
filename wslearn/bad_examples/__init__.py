"""Bad examples: code kept so that the course can run it and watch it fail. Do not copy it.

:mod:`wslearn.bad_examples.toy_server` is the "WebSocket server in 40 lines" of old blog posts,
mistakes included, which notebook 08 puts side by side with the real server. Nothing else in
``wslearn`` imports from here; the protocol lives in :mod:`wslearn.connection` and
:func:`wslearn.serve`.
"""
