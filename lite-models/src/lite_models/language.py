"""Which language was asked for and which one the material is in, told crudely.

The lite text model only quotes the material, so it cannot write in another language; this is
enough to say so rather than answer as if it had.
"""

import re

# Code → English name; the names and codes a request may use for each.
_LANGUAGES = {
    "en": ("English", ("english",)), "ko": ("Korean", ("korean", "한국어")), "de": ("German", ("german", "deutsch")),
    "fr": ("French", ("french", "français", "francais")), "es": ("Spanish", ("spanish", "español", "espanol")),
    "it": ("Italian", ("italian", "italiano")), "pt": ("Portuguese", ("portuguese", "português")),
    "nl": ("Dutch", ("dutch", "nederlands")), "ja": ("Japanese", ("japanese", "日本語")),
    "zh": ("Chinese", ("chinese", "中文", "mandarin")), "ru": ("Russian", ("russian", "русский")),
    "ar": ("Arabic", ("arabic",)), "hi": ("Hindi", ("hindi",)), "el": ("Greek", ("greek",)),
    "th": ("Thai", ("thai",)), "he": ("Hebrew", ("hebrew",)), "uk": ("Ukrainian", ("ukrainian",)),
}
_SCRIPTS = (("ko", r"[\uac00-\ud7a3]"), ("ja", r"[\u3040-\u30ff]"), ("zh", r"[\u4e00-\u9fff]"),
            ("ru", r"[\u0400-\u04ff]"), ("ar", r"[\u0600-\u06ff]"), ("hi", r"[\u0900-\u097f]"),
            ("el", r"[\u0370-\u03ff]"), ("th", r"[\u0e00-\u0e7f]"), ("he", r"[\u0590-\u05ff]"))
# The commonest short words of languages written in Latin letters.
_STOPWORDS = {
    "en": {"the", "and", "is", "of", "to", "in", "that", "it", "you", "this", "with", "for", "are", "on"},
    "de": {"der", "die", "und", "das", "ist", "nicht", "ich", "mit", "den", "ein", "eine", "zu", "es", "sie"},
    "fr": {"le", "la", "les", "et", "est", "des", "une", "un", "que", "pas", "pour", "dans", "du", "ce"},
    "es": {"el", "la", "los", "las", "y", "es", "que", "de", "en", "un", "una", "por", "con", "para"},
    "it": {"il", "la", "che", "di", "e", "un", "una", "per", "non", "sono", "con", "della", "gli", "questo"},
    "pt": {"o", "a", "os", "que", "de", "e", "um", "uma", "para", "com", "não", "por", "em", "são"},
    "nl": {"de", "het", "een", "en", "van", "is", "dat", "niet", "ik", "op", "te", "zijn", "met", "voor"},
}
# "Write in Korean." or "Write the summary, the key points and the chapters in ko."
_ASKED = re.compile(r"\bWrite\b[^.\n]{0,120}?\bin ([^.\n]{1,120})\.")
_CODE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,3}$")
_NAME = re.compile(r"^[A-Z][^\W\d_]+(?: [A-Z][^\W\d_]+)?$")
_WORD = re.compile(r"[^\W\d_]+")


def language_code(name: str) -> str | None:
    """'ko', 'Korean', 'ko-KR', 'Deutsch' → 'ko'/'de'; None for a language this does not know."""
    name = name.strip().lower()
    base = re.split(r"[-_]", name)[0]
    if base in _LANGUAGES:
        return base
    return next((code for code, (_, names) in _LANGUAGES.items() if name in names), None)


def language_name(code: str) -> str:
    return _LANGUAGES[code][0] if code in _LANGUAGES else code


def asked_language(instructions: str) -> str | None:
    """The language the system prompt asks for ("… Write in Korean."), as written there.

    The service's own instruction comes before any the user added, so the first one counts.
    """
    found = _ASKED.search(instructions)
    asked = found.group(1).rsplit(" in ", 1)[-1].strip() if found else ""
    # "Write each point in one sentence." asks for no language.
    looks_like_one = language_code(asked) or _CODE.match(asked) or _NAME.match(asked)
    return asked if asked and looks_like_one else None


def detect_language(text: str) -> str | None:
    """The code of the text's language by its script, or for Latin script by its stopwords."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    for code, pattern in _SCRIPTS:
        if len(re.findall(pattern, text)) > 0.3 * len(letters):
            return code
    words = [w.lower() for w in _WORD.findall(text)]
    scores = {code: sum(w in stop for w in words) for code, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda code: scores[code])
    return best if scores[best] else None


def language_note(asked: str | None, material_text: str, source: str = "transcript") -> str | None:
    """A note when the asked language is not the material's, which the answer is written in."""
    if not asked:
        return None
    code = language_code(asked)
    written = detect_language(material_text)
    if written is None or code == written:
        return None
    wanted = language_name(code) if code else asked.strip()
    return (f"the lite text model cannot write {wanted}: the summary, key points and chapters are in the "
            f"{source}'s language ({language_name(written)})")
