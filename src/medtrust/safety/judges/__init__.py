"""Judges of safety responses; ``base.make_judges`` builds them from names (see ``base``)."""
