"""The skeleton bus: typed, versioned skeleton frames from pose frontends to the window worker over ZeroMQ."""

from bus.messages import (
    DROP_REASONS,
    MAX_MESSAGE_BYTES,
    SCHEMA_VERSION,
    MessageError,
    SkeletonFrame,
    decode,
    encode,
    topic_for,
)
from bus.pubsub import Publisher, Subscriber

__all__ = [
    "DROP_REASONS",
    "MAX_MESSAGE_BYTES",
    "SCHEMA_VERSION",
    "MessageError",
    "Publisher",
    "SkeletonFrame",
    "Subscriber",
    "decode",
    "encode",
    "topic_for",
]
