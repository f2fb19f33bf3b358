"""mfe-proxy's pure core: config loading, path patterns and routing decisions (no mitmproxy import)."""
