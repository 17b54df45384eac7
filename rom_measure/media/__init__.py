"""Frames in and out: video sources, the pose model and its provisioning, drawing."""
