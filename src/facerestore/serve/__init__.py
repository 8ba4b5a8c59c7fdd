"""A local web page and HTTP API over the photo pipeline (``facerestore serve``, :mod:`facerestore.serve.app`)."""
