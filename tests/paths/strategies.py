"""Hypothesis strategies shared by the path tests: patterns built from segments that exercise every
feature, and pathnames near them."""

from hypothesis import strategies as st

from mfe_proxy.paths.expressions import compile_pattern

_SEGMENTS = [
    "docs", "Docs", "api", "a", "en", "v1.0", "%20", "..", "x-y", "a\\:b",
    ":p", ":lang(en|fr)", ":rest((?!api|blog).*)", ":v(a|b.*)", ":id(x|\\d+)",
    "pre-:p", ":p.json", "file.:ext",
]  # fmt: skip
_LAST_SEGMENTS = [":p*", ":p+", "x.:e+", ":all((?!api).*)*"]


@st.composite
def path_patterns(draw):
    segments = draw(st.lists(st.sampled_from(_SEGMENTS), max_size=3))
    if draw(st.booleans()):
        segments.append(draw(st.sampled_from(_LAST_SEGMENTS)))
    return compile_pattern("/" + "/".join(segments))


PATHNAMES = st.one_of(
    st.text(alphabet="/aAdDoOcCsSpPiIeEnNfFrRxX.-:%#?19", max_size=16),
    st.lists(
        st.sampled_from(
            ["docs", "DOCS", "api", "en", "fr", "x", "", "a", "v1.0", "pre-x", "y.json", "file.txt", "apix"]
        ),
        max_size=4,
    ).map(lambda segments: "/" + "/".join(segments)),
)
