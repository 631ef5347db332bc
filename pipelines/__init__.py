"""One file per versioned builder: the datasets of the DeepSeek-R1 recipe."""
