"""The analysts' batch command (`screening-batch`): a file of parties or shipments in,
results and an HTML report out, resumable after an interruption."""
