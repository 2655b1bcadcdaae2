"""The root of every refusal: input ndrbot will not handle, with a message for the person.

A refusal is expected (a malformed domain, an oversized paste, wrong command arguments) and its
text is written to be shown as it is: a 400 answer, an error card, a CLI message. Any exception
that is *not* a refusal is a bug: the edge answers with a generic error (a 500, "something went
wrong") that shows nothing of it, and logs everything.

The tree (each class lives with the code that raises it)::

    ValueError
    └── Refusal                          handlers.refusals
        ├── InvalidTarget                handlers.checks.result   a malformed domain, IP, selector
        ├── ReaderError                  handlers.ndr.reader      cannot read the paste
        │   └── InputTooLarge                                     over the size cap
        ├── UsageError                   handlers.commands        wrong command arguments
        ├── WatchUsage                   handlers.watch.commands  wrong /ndrwatch arguments
        ├── AlreadyWatched               bot.store.alerts         a watch that exists
        ├── NotText                      bot.alerts.intake        an intake body that is no text
        └── BadRequest                   bot.alerts.http          a request in the wrong shape

``Refusal`` derives from ``ValueError`` so code written against ``ValueError`` keeps working;
new code catches ``Refusal``, never ``ValueError``.
"""

from __future__ import annotations

__all__ = ["Refusal"]


class Refusal(ValueError):
    """Input ndrbot will not handle; ``str(refusal)`` is a sentence for the person who sent it."""
