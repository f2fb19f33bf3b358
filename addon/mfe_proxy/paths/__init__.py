"""Path patterns of `microfrontends.json` (`/docs/:path*`, `/:lang(en|fr)/docs`), matched as Vercel
matches them:

- `expressions`: path-to-regexp v6 expressions compiled to Python regexes (`compile_pattern`), with
  Vercel's validation;
- `jsregex`: a parameter's own regex, which is JavaScript, read with JavaScript's meaning;
- `tree`: the syntax tree both build, and its Python source;
- `overlap`: whether two patterns match a common pathname (for the config's validation);
- `index`: the first of many patterns that matches a pathname (for the router).
"""
