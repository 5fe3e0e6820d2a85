"""Start the scoqa chat app: ``python app.py [--host 127.0.0.1] [--port 7860] [--share]``.

A launcher only: the app itself is :mod:`scoqa.interfaces.app`. Settings come from the ``SCOQA_*``
environment variables (see the README).
"""

from scoqa.interfaces.app import main

if __name__ == "__main__":
    main()
