"""Side by side with other help desks (issue 9): `python -m bench.peers.helpdesk`."""
