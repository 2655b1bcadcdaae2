"""Reading bounces: ``read()`` turns a paste or a message into a :class:`Bounce` value."""

from handlers.ndr.model import AuthResult, Bounce, FailedRecipient, Kind, Mta, OriginalMessage
from handlers.ndr.reader import DEFAULT_MAX_BYTES, InputTooLarge, ReaderError, read

__all__ = [
    "DEFAULT_MAX_BYTES",
    "AuthResult",
    "Bounce",
    "FailedRecipient",
    "InputTooLarge",
    "Kind",
    "Mta",
    "OriginalMessage",
    "ReaderError",
    "read",
]
