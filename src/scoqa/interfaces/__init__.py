"""What people use: the ``scoqa`` command (:mod:`.cli`), the chat app (:mod:`.app`) and its HTML (:mod:`.html`)."""
