"""Accessibility tools on the engine: counts, k nearest, gravity, 2SFCA, service areas, offset effect."""
