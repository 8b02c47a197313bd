"""Numbered lesson scripts, each showing one networking concept (see the docs' Tutorial)."""
