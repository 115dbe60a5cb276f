"""Scale-out on Ray (the `scale` extra): a cluster connection and distributed encoding with Ray Data.
Nothing here is imported by the base serving install."""
