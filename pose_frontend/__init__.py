"""Pose frontends: frames from a camera, URL, video, images or a skeleton replay -> canonical
skeletons on the bus, one process per stream (docs/frontend.md). Never imports torch."""
