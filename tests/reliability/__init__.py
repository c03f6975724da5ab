"""Hardening (issue #6): real processes, real sockets, load, faults and hostile input."""
