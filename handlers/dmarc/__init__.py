"""DMARC reports: reading aggregate reports (``report``, ``unpack``) and failure reports
(``failure``), naming and bucketing their sources (``sources``), the enforcement advisor
(``readiness``), what is worth an alert (``alerts``), the cards (``cards``) and the commands'
answers (``answers``). Pure code: the store and the DNS look-ups are passed in by ``bot/dmarc``."""
