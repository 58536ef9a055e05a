"""Real registry fixtures (Debian's docker-registry on 127.0.0.1): filled in by the registry-client work."""
