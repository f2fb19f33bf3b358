"""The proxy's routing exported as an nginx configuration (`mfe-proxy export nginx`), for a shared
preview machine where nginx serves every application under one origin.

`export.render` writes the configuration: the upstreams, the server and its locations. `routing` writes
the maps that decide, with `pcre` translating the path patterns and `maps` the map syntax and the
rewriting chains; `pages` the answers nginx gives itself (the down page, the routing endpoint);
`differences` what nginx cannot do as the proxy does, and why. Pure: no mitmproxy import, no file or
network access.
"""
