"""Blender operators and panels: the only package that reads or writes `bpy` data."""
