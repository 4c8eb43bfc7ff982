"""Local stand-ins for every network, for tests, `engage sandbox` and `invoke demo`."""
