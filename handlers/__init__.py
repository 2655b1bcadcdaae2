"""The diagnosis side of ndrbot: reading bounces, classifying them, DNS checks, cards.

Nothing here knows which chat platform it talks to; it depends only on ``knowledge``.
"""
