"""Bench devices: serial lab scales, barcode scanners, the bench camera and stage photos.

Each driver is a pure parser plus a thin transport; per-model facts live in drivers/ as data.
Modules: scales (with profiles, scaleparse), sim (simulators on a pty), scanners, camera, photos.
"""
