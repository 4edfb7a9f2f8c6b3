"""Language codes: which of several tracks a request prefers, and ISO 639-2 names as ISO 639-1."""

from collections.abc import Iterable

# Containers tag tracks with ISO 639-2 codes (both the bibliographic and the terminology form);
# requests, YouTube and yt-dlp use ISO 639-1 (BCP 47) codes.
ISO639_2_TO_1 = {
    "ara": "ar", "ben": "bn", "bul": "bg", "cat": "ca", "ces": "cs", "cze": "cs", "chi": "zh",
    "zho": "zh", "dan": "da", "deu": "de", "ger": "de", "ell": "el", "gre": "el", "eng": "en",
    "est": "et", "fas": "fa", "per": "fa", "fin": "fi", "fra": "fr", "fre": "fr", "heb": "he",
    "hin": "hi", "hrv": "hr", "hun": "hu", "ind": "id", "ita": "it", "jpn": "ja", "kor": "ko",
    "lav": "lv", "lit": "lt", "msa": "ms", "may": "ms", "nld": "nl", "dut": "nl", "nor": "no",
    "nob": "nb", "nno": "nn", "pol": "pl", "por": "pt", "ron": "ro", "rum": "ro", "rus": "ru",
    "slk": "sk", "slo": "sk", "slv": "sl", "spa": "es", "srp": "sr", "swe": "sv", "tam": "ta",
    "tel": "te", "tha": "th", "tur": "tr", "ukr": "uk", "urd": "ur", "vie": "vi",
}  # fmt: skip
UNDETERMINED = {"", "und", "unk", "mul", "zxx", "mis"}


def normalize_language(code: str | None) -> str | None:
    """Codes as ISO 639-1 where known ("eng" -> "en"), "en_US" as "en-US"; None for missing and undetermined."""
    if not code:
        return None
    code = code.strip().replace("_", "-")
    if code.lower() in UNDETERMINED:
        return None
    return ISO639_2_TO_1.get(code.lower(), code)


def wanted_languages(languages: list[str] | None, video_language: str | None) -> list[str]:
    """The request's preferred languages, best first, then the video's own, then English when the
    request named none: a transcript in a language nobody asked for still beats none at all."""
    own = normalize_language(video_language)
    chosen = list(languages) if languages else [own, "en"]
    if languages and own:
        chosen.append(own)
    result: list[str] = []
    for code in chosen:
        code = normalize_language(code)
        if code and code.lower() not in (c.lower() for c in result):
            result.append(code)
    return result


def language_rank(language: str | None, wanted: Iterable[str]) -> tuple[int, int]:
    """(position of the first wanted language it matches, 0 for an exact match and 1 for the same base
    language: "en" for "en-GB"); tracks in no wanted language come last."""
    wanted = [w.lower() for w in wanted]
    language = (normalize_language(language) or "").lower()
    for rank, want in enumerate(wanted):
        if language == want:
            return rank, 0
        if language and language.split("-")[0] == want.split("-")[0]:
            return rank, 1
    return len(wanted), 0
