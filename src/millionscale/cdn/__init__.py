"""CDN edges: an RFC 9111 shared cache in front of any HTTP origin (issue 15; being built)."""
