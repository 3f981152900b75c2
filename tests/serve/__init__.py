"""The studio (``circle15 serve``): its API and its page in a browser."""
