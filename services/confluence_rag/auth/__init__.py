"""Who is asking: the signed-in identity (OIDC bearer token or a trusted proxy's headers)."""
