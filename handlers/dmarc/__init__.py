"""DMARC aggregate reports: reading them (``report``, ``unpack``), naming and bucketing their
sources (``sources``) and the card that shows a domain's summary (``cards``). Pure code: the
store and the DNS look-ups are passed in by ``bot/dmarc``."""
