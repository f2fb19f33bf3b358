"""Path patterns of `microfrontends.json` (`/docs/:path*`, `/:lang(en|fr)/docs`), matched as Vercel
matches them:

- `tokens`: path-to-regexp v6's lexer and parser, and Vercel's validation of an expression;
- `expressions`: an expression compiled to a Python regex (`compile_pattern`);
- `jsregex`: a parameter's own regex, which is JavaScript, read with JavaScript's meaning;
- `tree`: the syntax tree both build, and its Python source;
- `overlap`: whether two patterns match a common pathname (for the config's validation);
- `index`: the first of many patterns that matches a pathname (for the router).
"""
