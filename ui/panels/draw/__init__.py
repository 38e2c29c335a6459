"""Panels of the Draw page."""
