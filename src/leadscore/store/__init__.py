"""Storage backends behind one protocol; a database URL picks the backend."""

from leadscore.store.protocol import Store, StoredScore
from leadscore.store.url import open_store

__all__ = ["Store", "StoredScore", "open_store"]
