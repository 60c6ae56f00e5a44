"""What the tests share and are not tests themselves.

``rawclient`` (a WebSocket client over a raw socket, for bytes a library would refuse to send),
``foreground`` (``python -m wslearn serve`` in a child process, its output read line by line,
and the ``foreground`` fixture that starts it), ``procmem`` (another process's memory, read
from Linux's ``/proc``), ``labtools`` (JupyterLab and Chromium for the notebook tests),
``learner_envs`` (the README's and Binder's environments, built from scratch), ``leftovers``
(the pytest plugin that fails a run that leaves a process behind), ``spoilers`` (what a
learner's copy must not show), ``recorded_frames`` (recorded frames and Close payloads the view
tests share), ``upgrade_requests`` (the RFC's and Chromium's upgrade requests the handshake and
HTTP tests share), and ``capture_browser_frames`` (rewrites ``wslearn/data/chromium_frames.json``
from a real Chromium).
"""
