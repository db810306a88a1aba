"""Generated gRPC stubs for screening.v1 (see proto/generate.py)."""
