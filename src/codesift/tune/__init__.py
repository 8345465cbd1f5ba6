"""Teaching the encoder the task: training pairs synthesised from an indexed repository
(`pairs.py` and friends) and a fine-tuned bi-encoder (`train.py`), run by `codesift tune`."""
