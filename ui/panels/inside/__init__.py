"""Panels of the Inside the network page."""
