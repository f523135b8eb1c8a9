"""The plan as data: rule files and presets, OSM tag selectors, facility clean-up."""
