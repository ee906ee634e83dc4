"""What the body of a sent message shows a reader: unsubscribe links, address, why they got it.

Pure functions over decoded text; the HTML is read with the standard
library's parser (tolerant of the broken markup mail generators produce).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

# Words that name unsubscribing, in the languages senders write in.
UNSUBSCRIBE_WORDS = (
    "unsubscribe", "unsub", "opt-out", "opt out", "optout", "manage your subscription",
    "abmelden", "abbestellen", "austragen", "newsletter abbestellen",
    "désabonner", "desabonner", "désinscrire", "desinscrire", "désabonnement",
    "darse de baja", "date de baja", "baja", "cancelar suscripción", "cancelar suscripcion",
    "disiscriviti", "cancella iscrizione", "annulla iscrizione",
    "afmelden", "uitschrijven", "avregistrera", "avsluta prenumeration", "afmeld",
    "wypisz", "odhlásit", "odhlasit", "descadastrar", "cancelar inscrição",
)  # fmt: skip
_WORDS = re.compile("|".join(re.escape(word) for word in UNSUBSCRIBE_WORDS), re.IGNORECASE)
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d])"
    r"|(?<![-\w])(?:width|height|max-height)\s*:\s*0(?![.\d])|opacity\s*:\s*0(?![.\d])",
    re.IGNORECASE,
)
_VOID = frozenset(("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr"))  # fmt: skip
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_POSTAL = re.compile(
    r"\b\d{1,5}[a-z]?\s+(?:[\w.'-]+\s+){0,4}(?:street|st\.|avenue|ave\.?|road|rd\.|boulevard"
    r"|blvd|lane|ln\.|drive|dr\.|way|parkway|pkwy|highway|court|ct\.|place|pl\.|square|suite"
    r"|rue|calle|via|plaza)\b"
    # The street's name before its suffix is not matched: a search finds the
    # same texts without it, and '\b[\w-]*' rescanned a long 'a-a-a-…' from
    # every hyphen (40 kB of it took a minute).
    r"|(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm)\s+\d{1,5}[a-z]?\b"
    r"|\b(?:p\.?\s?o\.?\s+box|postfach|apartado|boîte postale|bp)\s*\d+",
    re.IGNORECASE,
)
_WHY = re.compile(
    r"you(?:'re| are)? receiv(?:e|ed|ing) this|because you (?:signed up|subscribed|registered"
    r"|opted in|are a (?:customer|member|subscriber))|you signed up|sent to you because"
    r"|sie erhalten diese|weil sie sich|vous recevez ce|parce que vous (?:êtes|vous)"
    r"|recibes este|has recibido este|ricevi questa",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Link:
    """An ``<a>`` of the HTML: where it goes, what it says, whether a reader can see it."""

    href: str
    text: str
    hidden: bool

    @property
    def unsubscribes(self) -> bool:
        """Whether its text or its URL speaks of unsubscribing."""
        return bool(_WORDS.search(self.text) or _WORDS.search(self.href))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[Link] = []
        self.text: list[str] = []
        self._hidden: list[bool] = []  # per open element: hidden, or inside a hidden one
        self._anchor: tuple[str, bool, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        hidden = (
            (bool(self._hidden) and self._hidden[-1])
            or "hidden" in values
            or bool(_HIDDEN_STYLE.search(values.get("style", "")))
        )
        if tag == "a" and "href" in values:
            self._anchor = (values["href"].strip(), hidden, [])
        if tag not in _VOID:
            self._hidden.append(hidden)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._anchor is not None:
            href, hidden, words = self._anchor
            self.links.append(Link(href, " ".join(" ".join(words).split()), hidden))
            self._anchor = None
        if tag not in _VOID and self._hidden:
            self._hidden.pop()

    def handle_data(self, data: str) -> None:
        if self._anchor is not None:  # a hidden link's words still say what it is
            self._anchor[2].append(data)
        if not (self._hidden and self._hidden[-1]):
            self.text.append(data)


def html_links(html: str) -> tuple[list[Link], str]:
    """The links of an HTML body and its visible text."""
    parser = _Links()
    parser.feed(html)
    parser.close()
    return parser.links, " ".join(" ".join(parser.text).split())


def text_unsubscribe_links(text: str) -> list[str]:
    """URLs of a text body that unsubscribe: in a line that says so, or the next line."""
    found = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        urls = _URL.findall(line)
        context = " ".join(lines[max(0, number - 1) : number + 1])
        found += [url for url in urls if _WORDS.search(url) or _WORDS.search(context)]
    return found


def has_postal_address(text: str) -> bool:
    """Whether the text shows something shaped like a postal address (a heuristic)."""
    return bool(_POSTAL.search(text))


def says_why_received(text: str) -> bool:
    """Whether the text tells the reader why they receive the message."""
    return bool(_WHY.search(text))
