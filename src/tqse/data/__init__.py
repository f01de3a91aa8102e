"""Data: JSONL manifests, clip datasets, on-the-fly mixing, corpus builders and dataset readers."""
