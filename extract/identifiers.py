"""Direct identifiers found by value in text cells (data contract: "Rules that hold for every table").

An extract is pseudonymised, so a text cell (person_id included) that holds an NHS
number with a valid modulus-11 check digit, a unique pupil number with a valid check
letter, a full UK postcode, an e-mail address or a UK telephone number is refused.
The loader screens the *distinct* values of each text column only (it holds text as
codes into them), first with one combined regular expression in Arrow (RE2, linear
time) and then with the exact rules, check digits included, on the few candidates.

Each detector looks for a whole token: what precedes and follows a match is not a
letter or digit, so the digits inside a longer id (``p0000012345``) or an LSOA code
(``E01012345``) never match.
"""

from __future__ import annotations

import re

import numpy as np

NHS_NUMBER = "an NHS number (10 digits with a valid modulus-11 check digit)"
UPN = "a unique pupil number (a letter, 11 digits and a digit or letter, with a valid check letter)"
POSTCODE = "a full UK postcode"
EMAIL = "an e-mail address"
TELEPHONE = "a UK telephone number"

# A token boundary that RE2 (no look-behind) and Python both accept.
_BEFORE = r"(?:^|[^0-9A-Za-z])"
_AFTER = r"(?:$|[^0-9A-Za-z])"
_SHAPES: dict[str, str] = {
    NHS_NUMBER: r"[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}",
    UPN: r"[A-Za-z][0-9]{11}[0-9A-Za-z]",
    # Outward code (area, district) and inward code (sector, unit): CV1 2AB, SW1A 1AA, B338TH.
    POSTCODE: r"[A-Za-z]{1,2}[0-9][0-9A-Za-z]? ?[0-9][A-Za-z]{2}",
    # The local part as RFC 5322 allows it (atext and dots), the domain as DNS names.
    EMAIL: r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    # 0 then 9 or 10 more digits (UK numbers never start 00, 04 or 06), or +44 without the 0;
    # spaces, hyphens and brackets as people write them.
    TELEPHONE: r"(?:\+44[ -]?(?:\(0\)[ -]?)?|\(?0)[1235789](?:[ )-]{0,2}[0-9]){8,9}",
}
# One pass over every distinct value finds the candidates; the exact rules run on those.
COMBINED = _BEFORE + "(?:" + "|".join(_SHAPES.values()) + ")" + _AFTER
_COMBINED_RE = re.compile(COMBINED)
# Python's exact pass: the same shapes with look-around boundaries, so that adjacent tokens
# ("943 476 5919 / 943 476 5919") are each seen.
_TOKEN_RES = {what: re.compile(r"(?<![0-9A-Za-z])(" + shape + r")(?![0-9A-Za-z])")
              for what, shape in _SHAPES.items()}
# From this many distinct values on, the candidate screen runs in Arrow.
_VECTORISE_FROM = 2000
# The DfE's UPN check letters: remainder 0..22 of the weighted sum (no I, O or S).
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def nhs_check_digit_valid(digits: str) -> bool:
    """Whether 10 digits end in their NHS modulus-11 check digit (remainder 10 is never valid)."""
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def upn_check_letter(body: str) -> str | None:
    """The check letter of a UPN's characters 2-13 (DfE: each times its position, 2..13,
    summed, remainder by 23; a letter in position 13 counts as its place in UPN_LETTERS),
    or None when position 13 is a letter outside that alphabet."""
    total = 0
    for position, char in enumerate(body.upper(), start=2):
        if char.isdigit():
            value = int(char)
        elif char in UPN_LETTERS:
            value = UPN_LETTERS.index(char)
        else:
            return None
        total += value * position
    return UPN_LETTERS[total % 23]


def _is_nhs(token: str) -> bool:
    return nhs_check_digit_valid(re.sub(r"[ -]", "", token))


def _is_upn(token: str) -> bool:
    return token[0].upper() == upn_check_letter(token[1:])


_EXACT = {NHS_NUMBER: _is_nhs, UPN: _is_upn}


def identifier_in(value: str) -> str | None:
    """What direct identifier ``value`` holds (one of this module's kinds), or None."""
    for what, pattern in _TOKEN_RES.items():
        exact = _EXACT.get(what)
        for match in pattern.finditer(value):
            if exact is None or exact(match.group(1)):
                return what
    return None


def identifiers(text: list[str]) -> np.ndarray:
    """Per distinct value: the kind of direct identifier it holds (an ``object`` array of
    the kinds above, None where it holds none)."""
    out = np.full(len(text), None, dtype=object)
    if len(text) >= _VECTORISE_FROM:
        import pyarrow as pa
        import pyarrow.compute as pc

        matched = pc.match_substring_regex(pa.array(text, type=pa.string()), COMBINED)
        candidates = np.flatnonzero(matched.to_numpy(zero_copy_only=False))
    else:
        candidates = [i for i, value in enumerate(text) if _COMBINED_RE.search(value)]
    for i in candidates:
        out[i] = identifier_in(text[i])
    return out
