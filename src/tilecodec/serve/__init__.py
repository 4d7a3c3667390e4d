"""The local comparison web page (``tilecodec serve``); needs the ``serve`` extra."""
