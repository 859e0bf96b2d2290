"""Load test: simulated desk agents (locust, in its own venv) against the production layout."""
