"""IVR: menu interpreter (sans-IO) and its FastAGI shell."""
