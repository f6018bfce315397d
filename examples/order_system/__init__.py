"""The guide's order system, done right: every service a small, stoppable, tested class."""
