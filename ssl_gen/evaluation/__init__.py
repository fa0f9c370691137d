"""Evaluation: classifier metrics and sample images; one pipeline for every method."""
