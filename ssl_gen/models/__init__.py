"""Layers and networks: the anchors' MLPs and conv nets, chosen by --architecture."""
