"""The embedded default's broker: kombu's filesystem transport, with messages that
appear in the queue folder whole.

kombu's own ``_put`` creates the message file empty, then locks and writes it; a
worker's ``_get`` moves files away without taking that lock. A worker listing the
folder between the two moves an empty file, reads nothing and fails on
``JSONDecodeError``: an unrecoverable error that stops the worker (seen under a burst
of 3,000 events, #17), and the writer's message is lost with it. Here a message is
written under a name no reader takes, then renamed into place, which POSIX makes
atomic on one filesystem: a reader sees the whole message or none.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

TRANSPORT = "dashboard.core.broker:Transport"


def message_name(queue: str) -> str:
    """kombu's name for a message of ``queue`` (milliseconds first: the folder sorts
    oldest first, and ``_get`` takes the first name ending in ``.<queue>.msg``)."""
    return f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = message_name(queue)
        final = os.path.join(self.data_folder_out, name)
        # A leading dot: ``_get`` matches on what follows the first dot, which here is
        # the whole name plus ``.part``, never ``<queue>.msg``.
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
