"""Clinical text → sentences, tokens, ConText-style assertion cues and candidate mention chunks.

Assertion status follows the ConText algorithm (Harkema et al. 2009) with a documented rule
set, `CONTEXT_RULES`, instead of medspaCy: medspaCy 1.3 pins spaCy < 3.8 on Python 3.11,
which pulls numpy < 2 into the environment, and its import warns under `-W error`.

Statuses and what the patient's phenotype does with them (see `Extraction` in `linking.py`):
- present: used as the patient's phenotype;
- historical ("history of", "previous"): also used; an HPO phenotype is a lifetime feature,
  so a past seizure is still the patient's seizure;
- negated ("no", "denies", "without", "absence of", "negative for", "ruled out"): excluded term;
- uncertain ("possible", "rule out", "suspected"): reported only, neither present nor excluded;
- family ("mother has", "family history of"): reported only, never the patient's phenotype.
When scopes overlap the stronger status wins: family > negated > uncertain > historical.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Assertion", "Mention", "Token", "Sentence", "Cue", "ContextRule", "CONTEXT_RULES",
    "SentenceContext", "STOPWORDS", "GENERIC_WORDS", "sentences", "overlapped", "find_cues", "analyze", "chunks",
    "detect_mentions", "is_content_word",
]

Assertion = Literal["present", "negated", "uncertain", "family", "historical"]
Direction = Literal["forward", "backward", "both"]
_PRIORITY: dict[str, int] = {"present": 0, "historical": 1, "uncertain": 2, "negated": 3, "family": 4}


@dataclass(frozen=True)
class Mention:
    """A span of the input text with its assertion status; `text == source[start:end]`."""

    text: str
    start: int
    end: int
    sentence_index: int
    assertion: Assertion = "present"
    cue: str | None = None


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int
    is_word: bool


@dataclass(frozen=True)
class Sentence:
    index: int
    start: int
    end: int
    tokens: tuple[Token, ...]


@dataclass(frozen=True)
class ContextRule:
    """A cue phrase; `pseudo` blocks a shorter cue; `terminate` ends scopes of the categories in `ends`.

    A terminator's direction says which scopes it ends: verbs ("has", "presented") end forward
    scopes only, so "fever was not seen" still negates fever.
    """

    phrase: str
    category: str  # an Assertion other than present, or pseudo | terminate
    direction: Direction = "forward"
    ends: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Cue:
    """A rule matched in a sentence, over tokens `[first, last)`."""

    rule: ContextRule
    first: int
    last: int
    text: str


_CLINICAL = frozenset({"negated", "uncertain", "historical"})
_ALL = _CLINICAL | {"family"}


def _rules(category: str, direction: Direction, phrases: str, ends: frozenset[str] = frozenset()) -> list[ContextRule]:
    return [ContextRule(p.strip(), category, direction, ends) for p in phrases.split("|") if p.strip()]


# Cue lists drawn from NegEx/ConText and medspaCy's default rules, trimmed where a cue names a
# phenotype in HPO's own wording: "absent", "lack of" and "loss of" are left out ("absent
# thumbs", "lack of speech"); "absence of" stays (the issue asks for it) and is dropped wherever
# it lies inside an exact label match ("Absence of tears").
CONTEXT_RULES: tuple[ContextRule, ...] = tuple(
    _rules("negated", "forward", "no|not|never|without|denies|denied|deny|denying|negative for|"
           "absence of|free of|no evidence of|no sign of|no signs of|no history of|none|neither|nor|"
           "did not have|does not have|no further|not demonstrate|fails to reveal|rather than")
    + _rules("negated", "backward", "ruled out|was ruled out|were ruled out|has been ruled out|"
             "was excluded|were excluded|is excluded|was negative|were negative|is negative|are negative|"
             "not seen|not present|not observed|not detected|not found|not noted|was denied|were denied|is denied|"
             "not identified|resolved")
    + _rules("uncertain", "forward", "possible|possibly|probable|probably|likely|suspected|suspicion of|"
             "suspicious for|concern for|concerning for|questionable|question of|rule out|to rule out|"
             "rule-out|r/o|may have|might have|could have|may be|might be|could be|cannot exclude|"
             "cannot rule out|evaluate for|evaluation for|differential diagnosis|uncertain|unclear if|presumed")
    + _rules("uncertain", "backward", "is suspected|was suspected|are suspected|were suspected|unlikely|"
             "cannot be excluded|cannot be ruled out|not excluded|not ruled out|is possible|was possible|"
             "is questionable|was questioned|is uncertain")
    + _rules("historical", "forward", "history of|hx of|h/o|past history of|past medical history|"
             "medical history of|pmh|previous|previously|prior|status post|s/p")
    + _rules("family", "forward", "family history|family history of|fhx|fh of|mother|father|mom|dad|"
             "parent|parents|sister|sisters|brother|brothers|sibling|siblings|sib|sibs|aunt|aunts|uncle|"
             "uncles|cousin|cousins|grandmother|grandfather|grandparent|grandparents|niece|nephew|son|sons|"
             "daughter|daughters|maternal|paternal|relative|relatives|family member|family members")
    + _rules("family", "backward", " ".join(
        f"in {d} {r}|" for d in ("his", "her", "the", "their", "a")
        for r in ("mother", "father", "sister", "brother", "sibling", "siblings", "sibs", "son", "daughter",
                  "aunt", "uncle", "cousin", "grandmother", "grandfather", "parents", "relatives")))
    + _rules("pseudo", "forward", "no increase|no change|no significant change|not only|not necessarily|"
             "no longer|without difficulty|not certain whether|gram negative|not rule out|not cause|"
             "no further than|history and physical|history and examination|history taking")
    + _rules("terminate", "both", "but|however|although|though|except|apart from|aside from|yet|"
             "nevertheless|whereas|while|which|who|whose|because|since|as well as|unless", _ALL)
    + _rules("terminate", "forward", "has|have|had|having|shows|showed|shown|presents|presented|presenting|"
             "exhibits|exhibited|developed|develops|complains|complained|reports|reported|is|was|are|were|"
             "manifested|manifests|displays|displayed|demonstrated|demonstrates", _CLINICAL)
    + _rules("terminate", "both", "he|she|patient|proband|index case|our patient|the child", frozenset({"family"}))
)

_WORD = re.compile(r"\w+(?:['’\-/]\w+)*", re.UNICODE)
_TOKEN = re.compile(r"\w+(?:['’\-/]\w+)*|[^\w\s]", re.UNICODE)
_HARD_BOUNDARY = frozenset(";()[]{}")
_ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "e.g", "i.e", "eg", "ie", "al", "vs", "approx", "fig",
                            "st", "ca", "cf", "pt", "yr", "yrs", "mo", "mos", "wk", "wks", "b.i.d", "t.i.d"})

STOPWORDS = frozenset(
    "a an the of in on at to for from by with within into onto as is was were are be been being am has have had "
    "having do does did and or but nor not no so than that this these those there their his her its it he she "
    "they them we our us you your i me my who whom whose which what when where why how all any both each few "
    "more most other some such only own same too very can will just should could would may might must also "
    "about above after again against below between during before under over up down out off further then once "
    "here same while because until if per via among upon one two three four five six seven eight nine ten "
    "first second third several many much less least well yet however although though whereas".split()
)
# Words that name no phenotype by themselves (or name one only as a modifier of another mention);
# a single-word span made of one of these is never linked.
GENERIC_WORDS = frozenset(
    "patient patients case cases proband family families child children infant infants boy boys girl girls man "
    "men woman women male males female females individual individuals member members subject subjects report "
    "reports reported study studies syndrome syndromes disease diseases disorder disorders condition conditions "
    "abnormal abnormality abnormalities anomaly anomalies normal type types form forms finding findings feature "
    "features sign signs symptom symptoms phenotype phenotypes history year years age aged month months week "
    "weeks day days gene genes mutation mutations variant variants clinical present presence onset severe mild "
    "moderate profound marked left right bilateral unilateral generalized generalised progressive episodic "
    "chronic acute recurrent congenital variable frequent occasional rare common dominant recessive "
    "inheritance inherited healthy imprinted imprinting collecting "
    "total partial complete incomplete associated affected unaffected new novel described diagnosis "
    "diagnosed treatment level levels increased decreased elevated reduced high low large small".split()
)


def _tokens(text: str, start: int, end: int) -> tuple[Token, ...]:
    return tuple(
        Token(m.group(), m.start(), m.end(), bool(_WORD.fullmatch(m.group())))
        for m in _TOKEN.finditer(text, start, end)
    )


_BOUNDARY = re.compile(r"[.!?]+(?=\s)|\n")
_NEXT_ON_LINE = re.compile(r"[ \t]*(.?)", re.DOTALL)  # the first character after spaces and tabs
_NEXT_ANY = re.compile(r"\s*(\S?)")  # the first character after any whitespace
_LONGEST_ABBREVIATION = max(len(a) for a in _ABBREVIATIONS)


def _word_before(text: str, start: int, end: int) -> str:
    """The run of word characters and dots ending at `end` (not before `start`), "" when longer than any abbreviation.

    Looks back at most a few characters, so each boundary costs O(1) however long the sentence.
    """
    i = end
    while i > start and end - i <= _LONGEST_ABBREVIATION and (text[i - 1].isalnum() or text[i - 1] in "._"):
        i -= 1
    return "" if end - i > _LONGEST_ABBREVIATION else text[i:end]


def _sentence_bounds(text: str) -> list[tuple[int, int]]:
    """Sentence spans; linear in the text (no slice or search reaches back over a growing sentence)."""
    bounds, start = [], 0
    for m in _BOUNDARY.finditer(text):
        if m.group() == "\n":
            following = _NEXT_ON_LINE.match(text, m.end()).group(1)  # type: ignore[union-attr]
            if following.islower():
                continue  # a wrapped line of prose, not a list item or a new sentence
        else:
            if _word_before(text, start, m.start()).lower() in _ABBREVIATIONS:
                continue
            following = _NEXT_ANY.match(text, m.end()).group(1)  # type: ignore[union-attr]
            if following.islower():
                continue
        bounds.append((start, m.end()))
        start = m.end()
    bounds.append((start, len(text)))
    return [(s, e) for s, e in bounds if text[s:e].strip()]


def sentences(text: str) -> list[Sentence]:
    """Split on sentence-final punctuation before a non-lowercase character and on list-like line breaks."""
    return [Sentence(i, s, e, _tokens(text, s, e)) for i, (s, e) in enumerate(_sentence_bounds(text))]


def _rule_index() -> dict[str, list[tuple[tuple[str, ...], ContextRule]]]:
    index: dict[str, list[tuple[tuple[str, ...], ContextRule]]] = {}
    for rule in CONTEXT_RULES:
        words = tuple(t.lower() for t in _TOKEN.findall(rule.phrase))
        index.setdefault(words[0], []).append((words, rule))
    for entries in index.values():
        entries.sort(key=lambda e: -len(e[0]))
    return index


_RULES_BY_FIRST = _rule_index()


def overlapped(tokens: Sequence[Token], spans: Iterable[tuple[int, int]]) -> list[bool]:
    """Per token, whether it overlaps any character span `[start, end)`; O(tokens + spans log tokens)."""
    mask = [False] * len(tokens)
    starts, ends = [t.start for t in tokens], [t.end for t in tokens]
    done = 0  # tokens before this index are already marked by an earlier span (spans are taken by start)
    for start, end in sorted(spans):
        for j in range(max(bisect_right(ends, start), done), bisect_left(starts, end)):
            mask[j] = True
        done = max(done, bisect_left(starts, end))
    return mask


def find_cues(sentence: Sentence, protected: Iterable[tuple[int, int]] = ()) -> list[Cue]:
    """Cues in a sentence, longest match first.

    A cue overlapping a `protected` character span (an exact label match such as "Migraine
    without aura") is dropped, except family and history cues, which no phenotype label needs.
    """
    inside = overlapped(sentence.tokens, protected)
    lowered = [t.text.lower() for t in sentence.tokens]
    cues: list[Cue] = []
    i = 0
    while i < len(lowered):
        for words, rule in _RULES_BY_FIRST.get(lowered[i], ()):
            if tuple(lowered[i:i + len(words)]) == words:
                if not any(inside[i:i + len(words)]) or rule.category in ("family", "historical"):
                    cues.append(Cue(rule, i, i + len(words), " ".join(t.text for t in sentence.tokens[i:i + len(words)])))
                    i += len(words) - 1
                    break
        i += 1
    return cues


@dataclass(frozen=True)
class SentenceContext:
    """A sentence with its cues and, per token, the winning assertion and the cue that set it."""

    sentence: Sentence
    cues: tuple[Cue, ...]
    states: tuple[tuple[Assertion, str | None], ...]

    def assertion_of(self, first: int, last: int) -> tuple[Assertion, str | None]:
        """The assertion of tokens `[first, last)`: the strongest status over them."""
        return max(self.states[first:last] or [("present", None)], key=lambda s: _PRIORITY[s[0]])


def _stops(cue: Cue, other: Cue | None, backward: bool) -> bool:
    if other is None or other is cue:
        return False
    if other.rule.category == "terminate":
        return cue.rule.category in other.rule.ends and (not backward or other.rule.direction == "both")
    # a later negation/uncertainty cue takes over; family and history cues let scopes through
    return other.rule.category in ("negated", "uncertain") and cue.rule.category in ("negated", "uncertain")


def analyze(sentence: Sentence, protected: Iterable[tuple[int, int]] = ()) -> SentenceContext:
    """Find the sentence's cues and spread each over its scope (to a hard boundary, terminator or rival cue).

    Linear in the sentence: a scope is not walked again where an earlier cue of the same category
    already walked it. Such a walk would change nothing: a scope's end depends only on its
    category, and a token keeps the first of equally strong statuses. Only family and history
    scopes can overlap that way (negation and uncertainty stop at each other's cues).
    """
    cues = tuple(find_cues(sentence, protected))
    tokens = sentence.tokens
    states: list[tuple[Assertion, str | None]] = [("present", None)] * len(tokens)
    starts = {c.first: c for c in cues}
    ends = {c.last - 1: c for c in cues}
    forward_reach: dict[str, int] = {}  # category → where its last forward walk stopped
    backward_floor: dict[str, int] = {}  # category → end of its last backward cue (walked below already)

    def mark(j: int, cue: Cue) -> None:
        if _PRIORITY[cue.rule.category] > _PRIORITY[states[j][0]]:
            states[j] = (cue.rule.category, cue.text)  # type: ignore[assignment]

    for cue in cues:
        category = cue.rule.category
        if category in ("pseudo", "terminate"):
            continue
        if category in ("family", "historical"):
            for j in range(cue.first, cue.last):  # a label holding the cue ("Family history") takes its status
                mark(j, cue)
        if cue.rule.direction in ("forward", "both") and cue.last > forward_reach.get(category, -1):
            j = cue.last
            while j < len(tokens) and tokens[j].text not in _HARD_BOUNDARY and not _stops(cue, starts.get(j), False):
                mark(j, cue)
                j += 1
            forward_reach[category] = j
        if cue.rule.direction in ("backward", "both"):
            floor = backward_floor.get(category, 0) if category in ("family", "historical") else 0
            j = cue.first - 1
            while j >= floor and tokens[j].text not in _HARD_BOUNDARY and not _stops(cue, ends.get(j), True):
                mark(j, cue)
                j -= 1
            backward_floor[category] = cue.last
    return SentenceContext(sentence, cues, tuple(states))


def is_content_word(word: str) -> bool:
    """A word that can carry a phenotype: alphabetic-led, three letters or more, not a stop word, not generic."""
    lowered = word.lower()
    return lowered[:1].isalpha() and lowered not in STOPWORDS and lowered not in GENERIC_WORDS and len(lowered) > 2


_SPLIT_WORDS = frozenset({"and", "or", "but", "nor", "with", "which", "that", "who", "whose", "while", "whereas", "as"})


def chunks(text: str, context: SentenceContext, covered: Iterable[tuple[int, int]] = ()) -> list[Mention]:
    """Stretches of a sentence not in `covered`, split at punctuation, cues and conjunctions, edges trimmed.

    Each keeps the strongest assertion of its tokens; stretches without a content word are dropped.
    """
    tokens = context.sentence.tokens
    taken = overlapped(tokens, covered)
    cue_tokens = {j for c in context.cues for j in range(c.first, c.last)}
    pieces: list[list[int]] = [[]]
    for j, tok in enumerate(tokens):
        if not tok.is_word or j in cue_tokens or tok.text.lower() in _SPLIT_WORDS or taken[j]:
            pieces.append([])
        else:
            pieces[-1].append(j)
    found = []
    for piece in pieces:
        while piece and tokens[piece[0]].text.lower() in STOPWORDS:
            piece = piece[1:]
        while piece and tokens[piece[-1]].text.lower() in STOPWORDS:
            piece = piece[:-1]
        if not any(is_content_word(tokens[j].text) for j in piece):
            continue
        first, last = tokens[piece[0]], tokens[piece[-1]]
        assertion, cue = max((context.states[j] for j in piece), key=lambda s: _PRIORITY[s[0]])
        found.append(Mention(text[first.start:last.end], first.start, last.end, context.sentence.index, assertion, cue))
    return found


def detect_mentions(text: str) -> list[Mention]:
    """Candidate mention chunks of a text with their assertion (no linking, no exact-match protection)."""
    found: list[Mention] = []
    for sentence in sentences(text):
        found.extend(chunks(text, analyze(sentence)))
    return found
