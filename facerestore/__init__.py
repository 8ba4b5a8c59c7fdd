"""facerestore: face restoration toolkit implementing five papers (see README)."""
__version__ = "0.1.0"
