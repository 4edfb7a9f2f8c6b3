"""Words that carry meaning: the shared tokeniser of ranking and frame grouping; lists written as prose."""

import re

_STOP_WORDS_TEXT = """
a about above after again against all also am an and any are aren't as at be because been before being
below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
during each few for from further get gets got had hadn't has hasn't have haven't having he he'd he'll
he's her here here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it
it's its itself just let's like me more most mustn't my myself no nor not now of off on once only or
other ought our ours ourselves out over own really right same says say she she'd she'll she's should
shouldn't so some such than that that's the their theirs them themselves then there there's these they
they'd they'll they're they've this those through to too um uh under until up us very was wasn't we we'd
we'll we're we've well were weren't what what's when when's where where's which while who who's whom
why why's will with won't would wouldn't yeah you you'd you'll you're you've your yours yourself
yourselves okay ok going gonna want wanna know see one two thing things lot actually
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
_TOKEN = re.compile(r"[^\W_][\w']*")
_HANGUL = re.compile(r"^[\uac00-\ud7a3]+$")
# Scripts written without spaces: a run of characters is compared by its overlapping pairs.
_UNSPACED = re.compile(r"^[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]+$")
# Korean particles and copulas glue onto nouns ("태양광은", "태양광을"); longest first.
_KOREAN_ENDINGS = ("에서는", "으로는", "입니다", "합니다", "에서", "으로", "에게", "까지", "부터", "이다", "이며",
                   "은", "는", "이", "가", "을", "를", "의", "에", "도", "로", "와", "과", "만", "요")


def _fold_hangul(token: str) -> str:
    for ending in _KOREAN_ENDINGS:
        if token.endswith(ending) and len(token) - len(ending) >= 2:
            return token[: -len(ending)]
    return token


def content_words(text: str) -> list[str]:
    words = []
    for token in _TOKEN.findall(text.lower().replace("’", "'")):
        if _HANGUL.match(token):
            words.append(_fold_hangul(token))
            continue
        if _UNSPACED.match(token):
            words.extend(token[i:i + 2] for i in range(max(1, len(token) - 1)))
            continue
        token = token.removesuffix("'s")
        if token in STOP_WORDS or len(token) < 2:
            continue
        # A light plural fold so "colours" and "colour" count as the same term.
        if token.endswith("ies") and len(token) > 4:
            token = token[:-3] + "y"
        elif token.endswith("s") and not token.endswith("ss") and len(token) > 3:
            token = token[:-1]
        words.append(token)
    return words


def listed(items: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
