"""The answerer's rules on inline text, without the model: what counts as the kind of answer asked."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from scoqa.qa.abstain import measure_named, unnamed, unsupported, years_met
from scoqa.qa.evidence import Candidate, _said, _type_match, defined_term, drawn, quotable
from scoqa.qa.question import Question, names, question_type
from scoqa.search.searcher import Hit


@pytest.mark.parametrize(("question", "kind"), [
    ("When was the SCO founded?", "when"),
    ("How many people died in Beslan?", "number"),
    ("Who was killed in Kyrgyzstan in June 2002?", "who"),
    ("Where is RATS located?", "where"),
    ("What minimum password length does the baseline require?", "number"),
    ("What is the longest a single label can be?", "number"),
    ("What is the longest river in the region?", ""),   # a superlative thing, not a bound
    ("Which 1980 U.S. law lets NOAA license explorers?", "name"),
    ("Which office leads the consortium?", "name"),
    ("Which of the transfer modes is obsolete?", ""),   # a thing, not a name
    ("Why do members hold joint exercises?", "why"),
    ("For what reason was the meeting moved?", "why"),
    ("What was the main reason for the delay?", "why"),
    ("What is the main reason?", ""),
    # The first question phrase decides: a later "when" is a conjunction.
    ("How long is each step when troops move at double time?", "number"),
    ("Does GitHub look at nationality when applying sanctions restrictions?", ""),
    ("In which year did the exercise take place?", "when"),
    ("What did he say when he arrived?", ""),
    ("Until when will the restriction last?", ""),
    ("According to the report, how many contracts were issued?", "number"),
    # A word between "what" and "date" / "year", or a hyphenated one before the quantity.
    ("What exact date was the treaty signed?", "when"),
    ("In which fiscal year was the office opened?", "when"),
    ("Over what period were the samples taken?", "when"),
    ("On what dates was the exercise held?", "when"),   # the plural asks for dates too
    ("In which years did the fund grow?", "when"),
    ("In which month did the survey start?", "when"),
    ("What is the case-fatality rate of the disease?", "number"),
    ("Which day-to-day tasks does the office handle?", ""),
    ("To which email address should agencies send the report?", "address"),
    ("What phone number do callers use?", "address"),
    ("How does the guide define patch management?", "define"),
    ("How does the memo, quoting M-15-13, define an intranet?", "define"),
    # What something is called: a term, whatever words come between.
    ("What is the highest tier called?", "term"),
    ("What name does the introduction give to the mess of dependencies?", "term"),
    ("What are the old cemeteries called throughout Spanish America?", "term"),
    ("What must the homepage link to the agency's data be called, exactly?", "term"),
    ("How are the candles called dips made?", ""),          # "called" names what is asked about
    ("What title did he choose for the magazine?", ""),     # a title is any words, not a name given
    ("What is meant by source reduction in larval mosquito control?", "define"),
    ("What does 'quorum' mean?", "define"),
    ("How many cycles of radiation define one second?", "number"),
    # A leading clause that asks nothing sets the scene; the question proper follows the comma.
    ("When the index is rebuilt, what happens to old passages?", ""),
    ("If a member leaves, how many votes are needed?", "number"),
    ("After the war ended, when did he return home?", "when"),
    ("When did the office open, and where?", "when"),
    # ... and a yes-or-no question may follow it: its "when" asks for no date.
    ("When sorting versions, does the build number matter?", ""),
    ("If a client retries, is the delay doubled?", ""),
])
def test_question_types(question: str, kind: str) -> None:
    assert question_type(question) == kind


@pytest.mark.parametrize(("text", "expected"), [
    ('In software management there is a dreaded place called "dependency hell."', 1.0),
    ("The final rule provides that the hyperlink shall be called No FEAR Act Data.", 1.0),
    ("Releasing new package versions can quickly become a nightmare.", 0.0),
    ('Such messes are "package dependencies" of the worst kind.', 0.0),   # quotes only what is asked
    ("The agency's data and the board's rules are public.", 0.0),          # apostrophes are no quotes
])
def test_a_term_asked_for_is_named_or_quoted(text: str, expected: float) -> None:
    assert _type_match("term", text, "What name is given to the mess of package dependencies?") == expected


def test_a_name_asked_for_is_a_capitalised_word_the_question_does_not_say() -> None:
    question = "Which 1980 U.S. law lets NOAA license American citizens to explore the seabed?"
    assert _type_match("name", "The Deep Seabed Hard Mineral Resources Act authorized NOAA to license them.",
                       question) == 1.0
    assert _type_match("name", "Congress authorized NOAA to issue exploration licenses to U.S. citizens.",
                       question) == 0.0


@pytest.mark.parametrize(("text", "expected"), [
    ("Kyrgyzstan: Chinese consul killed", 1.0),        # a nationality and a title answer "who"
    ("Quentin Peel of the Financial Times", 1.0),
    ("Kyrgyzstan: bus hijacked, 20 killed", 0.0),     # only the place the question already names
])
def test_who_is_answered_by_a_capitalised_word_the_question_does_not_say(text: str, expected: float) -> None:
    assert _type_match("who", text, "Who was killed in Kyrgyzstan in June 2002?") == expected


def test_a_word_in_another_form_is_still_the_questions_own() -> None:
    assert _said("tajikistan", {"tajik"}) and _said("chechnya", {"chechen"})
    assert not _said("chinese", {"kyrgyzstan", "killed"}) and not _said("m", {"many"})
    # "Who was the Tajik culture minister killed in 2001?" is not answered by "Tajikistan: ...".
    assert _type_match("who", "Tajikistan: culture minister killed", "Who was the Tajik culture minister?") == 0.0


@pytest.mark.parametrize(("text", "expected"), [
    ("It is located in Bishkek, Kyrgyzstan", 1.0),
    ("Tashkent, Uzbekistan: a series of bomb, 10 dead", 1.0),
    ("terrorist activities in the SCO area", 0.0),      # an acronym is not a place
])
def test_where_needs_a_place(text: str, expected: float) -> None:
    assert _type_match("where", text, "Where is it?") == expected


def test_a_year_does_not_count_anything() -> None:
    assert _type_match("number", "December 2002 Bishkek, Kyrgyzstan: market bomb attack", "How many?") == 0.0
    assert _type_match("number", "Beslan, Russia: 300 dead, half of them children", "How many?") == 1.0


def test_a_number_or_date_the_question_already_says_answers_nothing() -> None:
    question = "Within how many days of BOD 20-01 did agencies have to publish their policy?"
    assert _type_match("number", "Publish a policy under BOD 20-01 at [agency].gov/vdp-2020", question) == 0.0
    assert _type_match("number", "Agencies had 180 days after BOD 20-01 to publish it.", question) == 1.0
    assert _type_match("when", "In 2021, Nauru notified the ISA.", "Which country told the ISA in 2021?") == 0.0


def test_a_dates_day_counts_nothing_when_the_question_says_its_month_and_year() -> None:
    # The question's own words are taken away after the dates, not before: "January" and
    # "2011" gone first left "25" standing alone, a number that answered "how many".
    question = "How many people were killed in the January 2011 bombing at the airport?"
    assert _type_match("number", "On January 25, 2011, the Secretary-General condemned the bombing.", question) == 0.0
    assert _type_match("number", "On January 25, 2011, a bombing killed 37 people.", question) == 1.0


@pytest.mark.parametrize("text", ["The method was developed in the late 1960s.", "It was popular in the 1880’s.",
                                  "Funding starts during FY19.", "The pilot ends in FY 2024."])
def test_decades_and_fiscal_years_are_dates(text: str) -> None:
    assert _type_match("when", text, "When was it?") == 1.0
    assert _type_match("number", text, "How many?") == 0.0  # a date's digits count nothing


@pytest.mark.parametrize(("text", "expected"), [
    ("Due to the sensitive nature of this information, keep it secret.", 1.0),
    ("The client waits ten seconds to avoid excessive network traffic.", 1.0),
    ("MD5 was designed because MD4 was adopted too quickly.", 1.0),
    ("Keys are rotated so that a stolen key is soon useless.", 1.0),
    # "Since" tells a time as often as a cause, and a consequence is not the reason asked for.
    ("Since the 1962 Cuban Missile Crisis, the two have negotiated limits.", 0.0),
    ("Thus, the sum of the volumes is greater than the total volume spilled.", 0.0),
])
def test_a_reason_is_answered_by_a_sentence_that_gives_one(text: str, expected: float) -> None:
    assert _type_match("why", text, "Why is it so?") == expected


def test_years_before_1900_are_dates() -> None:
    assert _type_match("when", "Father Allouez, upon his arrival in 1666 at La Pointe, ...", "In what year?") == 1.0
    assert question_type("What dollar amount of civil penalty can an agency face?") == "number"


def test_a_quantity_named_by_the_question_asks_for_a_number() -> None:
    assert question_type("What was the monthly pay of an infantry private?") == "number"
    assert question_type("What is the size of the Clarion-Clipperton Zone?") == "number"
    assert question_type("What is the name of the new missile?") == ""


def _passage(text: str, section: str = "", date: str = "") -> Hit:
    return Hit(text=text, score=1.0, citation="doc.md", source="doc.md", section=section, page=None,
               line_start=1, line_end=1, chunk_id="c", kind="paragraph", date=date)


def test_when_or_how_many_is_declined_when_the_sentence_to_quote_has_no_date_or_number() -> None:
    """The best sentence is the one quoted: a count in a sentence that scores nearly as well, about
    another attack, does not make "On April 12, 2011, ... issued a statement" say how many died."""
    statement = _passage("On April 12, 2011, the Secretary-General issued a statement on the bombing in Minsk.")
    count = _passage("Moscow, Russia: bombs in the metro, 50 dead, 130 wounded")
    about_statement = Candidate(0, 0, len(statement.text), cosine=0.49, coverage=0.64, score=2.81, typed=False)
    about_count = Candidate(1, 0, len(count.text), cosine=0.62, coverage=0.19, score=2.32, typed=True)
    searcher = SimpleNamespace(acronyms={})

    def asked(text: str) -> Question:
        return Question(text, text, question_type(text), None, (), frozenset(), (), ())  # type: ignore[arg-type]

    def declined(question: str, ranked: list[Candidate]) -> bool:
        return unsupported(asked(question), ranked, [statement, count], searcher, lambda source: set())  # type: ignore[arg-type]

    assert declined("How many people died in the bombing in the metro?", [about_statement, about_count])
    assert not declined("How many people died in the bombing in the metro?", [about_count, about_statement])
    assert not declined("What happened after the bombing in the metro?", [about_statement, about_count])


def test_a_year_the_question_names_must_be_in_a_passage_found() -> None:
    found = [_passage("In 2011, 712 human cases were reported.", section="Surveillance 2010–2011")]
    assert not years_met("How many human cases were reported in 2012?", found)
    assert years_met("How many human cases were reported in 2011?", found)
    # A heading or a list entry's date holds the year as well as the text does.
    assert years_met("What happened in 2010?", found)
    assert years_met("What happened in Kashgar in 2008?", [_passage("Kashgar: attack on police", date="August 2008")])
    # Other numbers are names of things more often than constraints: a document's number.
    assert years_met("What does SP 800-122 say about breaches?", found)


@pytest.mark.parametrize(("text", "expected"), [
    ("Send the URL to nofear@eeoc.gov by March 1.", 1.0),
    ("The policy is posted at https://www.example.gov/privacy for everyone.", 1.0),
    ("Call the help desk at (202) 555-0143 on weekdays.", 1.0),
    ("Agencies must provide EEOC with the URL of their data.", 0.0),
])
def test_an_address_is_answered_by_an_email_link_or_phone_number(text: str, expected: float) -> None:
    assert _type_match("address", text, "To which email address should agencies send the URL?") == expected


@pytest.mark.parametrize(("question", "term"), [
    ("How does the guide define patch management?", "patch management"),
    ("How does Madison define a faction?", "faction"),
    ("What is meant by source reduction in larval mosquito control?", "source reduction"),
    ("How does the memo, quoting M-15-13, define an intranet?", "intranet"),
    ("What does 'quorum' mean?", "quorum"),
    ("What does the SCO mean by the 'three evils'?", "three evils"),
])
def test_the_term_a_question_asks_the_meaning_of(question: str, term: str) -> None:
    assert defined_term(question) == term


@pytest.mark.parametrize(("text", "expected"), [
    ("Patch management is the process for identifying, acquiring, installing, and verifying patches.", 1.0),
    ('An "intranet" is defined as "a computer network that is not directly reachable."', 1.0),
    ("By a faction, I understand a number of citizens united by a common impulse of passion.", 1.0),
    ("● Skill : The capacity to perform an observable action.", 1.0),  # an entry of a list run into the text
    ("Section 2 explains the importance of patch management.", 0.0),
    ("Enterprise patch management is hard to do well.", 0.0),  # another term ending in the same words
])
def test_a_definition_is_a_sentence_that_says_what_the_term_is(text: str, expected: float) -> None:
    questions = {"patch": "How does the guide define patch management?", "intranet": "How does the memo define an "
                 "intranet?", "faction": "How does Madison define a faction?", "skill": "How does it define a skill?"}
    question = next(q for key, q in questions.items() if key in text.lower())
    assert _type_match("define", text, question) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("How many nuclear weapons does the United Kingdom deploy?", ["United Kingdom"]),
    # A possessive's "'s" and a leading "The" are not part of the name; links join it.
    ("What was The Metals Company's total revenue in 2025?", ["Metals Company"]),
    ("Which Department of Education official is profiled?", ["Department of Education"]),
    # Acronyms are matched through their expansions; months, days and "I" name nothing.
    ("How many hours of leave can I take in May under the TTS policy?", []),
    # The first word of a sentence is capitalised for the sentence, not as a name.
    ("I work here. Where do Moscow and Washington meet?", ["Moscow", "Washington"]),
])
def test_the_names_a_question_uses(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_a_passage_names_things_with_its_first_word_too() -> None:
    assert names("Russia signed it. The U.S. and the United States of America did not.", openings=True) == [
        "Russia", "United States of America"]


class _Embedder:
    """Vectors for a few names: the model's own geometry, written down (Moscow is Russia's capital)."""

    AXES = {"Moscow": (1.0, 0.1, 0.0), "Russia": (1.0, 0.0, 0.0), "India": (0.6, 0.8, 0.0),
            "ISA": (0.0, 0.0, 1.0), "International Seabed Authority": (0.0, 0.0, 1.0)}

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.array([self.AXES[t] for t in texts])
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


_SEARCHER = SimpleNamespace(acronyms={"ISA": "International Seabed Authority"}, embedder=_Embedder())


def _no_title(source: str) -> set[str]:
    return set()


def test_a_name_the_passage_does_not_say_bounds_the_answer() -> None:
    contracts = _passage("The ISA has issued 31 exploration contracts to states and companies.")
    assert unnamed("How many contracts does India hold with the International Seabed Authority?",
                   contracts, _SEARCHER, _no_title) == "India"
    # An acronym in the passage says its long form; a word in another form is the same word.
    assert unnamed("How many contracts has the International Seabed Authority issued?", contracts, _SEARCHER,
                   _no_title) is None
    # A passage may call it by its initials only, spelled out nowhere in the corpus.
    portal = _passage("DOT’s National Transportation Library launches its ROSA P portal to honor Rosa Parks.")
    assert unnamed("Who is the Department of Transportation's portal named for?", portal, _SEARCHER, _no_title) is None
    # A name on the document's title page is what every passage of it is about.
    assert unnamed("How many contracts does India hold?", contracts, _SEARCHER, lambda source: {"india"}) is None
    # A name's words may stand apart: "the Harbor Gateway service" is said by "the Gateway ... Harbor".
    gateway = _passage("The Gateway service, the main entry point to Harbor, is named for Ada Byron.")
    assert unnamed("Who is the Harbor Gateway service named after?", gateway, _SEARCHER, _no_title) is None


def test_a_name_the_model_places_beside_one_the_passage_says_is_said() -> None:
    treaty = _passage("Russia revoked its ratification of the treaty in 2023.")
    assert unnamed("When did Moscow revoke its ratification?", treaty, _SEARCHER, _no_title) is None
    assert unnamed("When did India revoke its ratification?", treaty, _SEARCHER, _no_title) == "India"


@pytest.mark.parametrize(("question", "sentence", "expected"), [
    ("What royalty rate has the ISA proposed?", "The ISA has issued 17 exploration contracts.", False),
    ("What royalty rate has the ISA proposed?", "Royalties would start at 2 percent of value.", True),
    # "monthly" says how the pay is counted; the sentence must name the pay.
    ("What was the monthly pay of a private?", "A private drew 15 dollars each month.", False),
    ("What was the monthly pay of a private?", "The pay of a private was 15 dollars.", True),
    # A quantity asked as a value ("At what speed ...?", "What size blocks ...?") names nothing to find.
    ("At what speed should troops march?", "Troops march at 4 miles an hour.", True),
    ("What size blocks does TFTP send?", "Data is sent in blocks of 512 bytes.", True),
    ("What task completion rate does the plan set?", "It aims for 90 percent task completion.", True),
])
def test_a_quantity_the_question_names_must_be_named(question: str, sentence: str, expected: bool) -> None:
    assert measure_named(question, sentence, _SEARCHER) is expected


@pytest.mark.parametrize(("text", "expected"), [
    # An RFC's packet diagram and state machine, a section break: drawing, not words to quote.
    ("2 bytes    2 bytes ------------------- ACK   | 04    |   Block #  | --------", True),
    ("|      | REQUESTING |                  Halt network         | DHCPOFFER/ |"
     "            |   Discard  ------------ |", True),
    ("*       *       *       *", True),
    # A table's row of words between pipes, and prose with a dash, are words.
    ("| 1006 | Abnormal Closure | hybi@ietf.org | RFC 6455 |", False),
    ("T2 defaults to (0.875 * duration_of_lease), and T1 to half of it.", False),
    ("Making this sort of automation work in a large enterprise---measurably improving security.", False),
])
def test_a_plain_text_figure_is_drawing_not_an_answer(text: str, expected: bool) -> None:
    assert drawn(text) is expected
    if expected:
        assert not quotable(text)


def test_a_second_quote_the_first_already_holds_is_left_out() -> None:
    """A first quote that opens with a pronoun starts a sentence early, at what it points to; a
    second quote of that very sentence would say it twice."""
    from scoqa.qa.answer import Answerer

    text = 'Consider a library called "Firetruck." It requires a package named "Ladder." Ladder is small.'
    hit = _passage(text)
    it = text.index("It requires")
    best = Candidate(0, it, text.index(" Ladder is"), 0.6, 0.5, 3.0, True)
    earlier = Candidate(0, 0, it - 1, 0.6, 0.5, 2.9, True)
    question = SimpleNamespace(text="What does Firetruck require?", query="What does Firetruck require?")
    reply = Answerer._compose(Answerer.__new__(Answerer), question, [hit], [best, earlier], 3.0)
    assert reply.text == 'Consider a library called "Firetruck." It requires a package named "Ladder." [1]'
