"""Segmentation: RFM scoring, the clustering lab, saved segments and their comparison."""
