"""Reading users' files into lead, account and event records; bad rows become rejects, never errors.

``readers`` reads CSV and JSONL (``read_leads``, ``read_events``, ``write_rejects``) with column
mappings from ``mapping``; ``leadforge`` reads leadforge bundles.
"""
