"""DMARC aggregate reports at the edges: intake over HTTP (``/api/dmarc``), the store and the
reverse DNS look-ups behind ``/dmarcreport``. The reading and naming rules are in
``handlers/dmarc``."""

from bot.dmarc.http import DMARC_PATH, DmarcIntake, dmarc_handler
from bot.dmarc.service import Dmarc, Ingested

__all__ = ["DMARC_PATH", "Dmarc", "DmarcIntake", "Ingested", "dmarc_handler"]
