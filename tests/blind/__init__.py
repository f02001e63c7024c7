"""Blind check of the wheel classifier on an independently written generator."""
