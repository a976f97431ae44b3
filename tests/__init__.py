"""rawmmap tests: pytest against the real kernel (no mocked syscalls)."""
