"""Intra prediction: predict a block from the decoded samples above and to its left
(``hevc``: the HEVC modes)."""
