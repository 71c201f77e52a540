"""The retrain worker process (``textal worker``): consumer, job bodies, Label Studio sync, fast tier, fine-tune,
publishing (head first, then the fill), reconciliation."""
