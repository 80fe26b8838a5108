"""Controllers: the NodeGroup and VPSieNode lifecycle reconcilers and the garbage collector."""
