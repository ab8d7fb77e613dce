"""The service layer: what the CLI (and later the API) call; no scoring rules live here."""
