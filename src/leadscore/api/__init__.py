"""The HTTP API: parse, call the service layer, render JSON. No scoring logic lives here."""
