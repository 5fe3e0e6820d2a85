"""Follow-up resolution, without the model: which questions lean on history and what they carry."""

from __future__ import annotations

import pytest

from scoqa.qa.conversation import last_answer, message_text, needs_context, quoted, resolve, resolve_history


def history(*questions: str) -> list[dict]:
    turns = []
    for q in questions:
        turns += [{"role": "user", "content": q}, {"role": "assistant", "content": "an answer [1]"}]
    return turns


@pytest.mark.parametrize(
    ("question", "previous", "expected"),
    [
        ("When did it happen?", "How many people died in Beslan?", "When did it happen? Beslan people died"),
        ("What about Kyrgyzstan?", "Which attacks happened in Tajikistan?", "What about Kyrgyzstan? attacks"),
        ("Where was the 2009 one held?", "Tell me about the Peace Mission exercises.",
         "Where was the 2009 one held? Peace Mission exercises"),
        ("And the Norak one?", "What did the Vostok exercise simulate?", "And the Norak one? exercise simulate"),
        ("Which attack did he comment on in August 2009?", "Who was the SCO Secretary-General in 2009?",
         "Which attack did he comment on in August 2009? SCO Secretary-General"),
        # Two words and no name or date of its own: about what was being discussed.
        ("How many people were killed?", "What happened in Andijan in May 2005?",
         "How many people were killed? Andijan May 2005"),
        # "those" points at the earlier attacks: a new name narrows them, it does not replace the
        # earlier names ...
        ("How many of those were in Kyrgyzstan?", "How many terrorist attacks did the RATS prevent in 2010?",
         "How many of those were in Kyrgyzstan? RATS 2010 terrorist attacks prevent"),
        # ... but "which other" asks past what was named before.
        ("Which other SCO member sent troops to the same exercise?",
         "Did Kazakhstan send troops to the Peace Mission exercise?",
         "Which other SCO member sent troops to the same exercise? send"),
    ],
)
def test_follow_ups_carry_names_and_dates_of_the_previous_question(question, previous, expected) -> None:
    assert resolve(question, previous) == expected


@pytest.mark.parametrize(
    "question",
    ["When was the SCO founded?", "Which exercise was held in Zhambyl?", "How many people died in Beslan?",
     "What are the three evil forces?", "Which countries founded the SCO?"],
)
def test_self_contained_questions_are_not_disturbed(question: str) -> None:
    assert not needs_context(question)
    assert resolve_history(question, history("What are the three evil forces?")) == question


def test_each_earlier_turn_is_resolved_in_turn() -> None:
    turns = history("Tell me about the attacks in Kashgar.", "What happened there in August 2008?")
    assert resolve_history("How many were wounded?", turns) == "How many were wounded? August 2008 Kashgar attacks"


def test_gradio_content_blocks_and_odd_messages_are_read() -> None:
    blocks = [{"role": "user", "content": [{"type": "text", "text": "How many people died in Beslan?"}]},
              {"role": "assistant", "content": {"type": "text", "text": "300 [1]"}, "metadata": {"title": "x"}},
              {"role": "user", "content": None}, "not a message"]
    assert resolve_history("When did it happen?", blocks) == "When did it happen? Beslan people died"
    assert message_text([{"type": "image", "url": "x"}, {"type": "text", "text": "hi"}]) == "hi"


def test_an_ordinal_or_a_decade_is_carried_whole() -> None:
    # Cut after its digits, "10th" carried "10" and "th", a term no passage has.
    assert (resolve("On what date?", "Where was the Declaration of the 10th Anniversary issued?")
            == "On what date? Declaration 10th Anniversary issued")
    assert resolve("Who led it?", "What changed in the 1990s?") == "Who led it? 1990s changed"


def test_a_pronoun_is_not_carried() -> None:
    assert resolve("What about Andijan?", "What happened there in May 2005?") == "What about Andijan? May 2005"


def test_a_name_the_whole_corpus_is_about_does_not_stand_for_the_topic() -> None:
    previous = "Which SCO treaty deals with long-term good-neighborliness?"
    # Names first, then the other words of the previous question.
    assert resolve("What is its date?", previous) == "What is its date? SCO treaty deals long-term good-neighborliness"
    common = {"SCO"}.__contains__
    assert resolve("What is its date?", previous, common) == (
        "What is its date? SCO treaty deals long-term good-neighborliness")


def test_the_last_answer_and_what_it_quoted_are_read_from_the_history() -> None:
    turns = history("Which Federalist paper is about the judiciary?")
    turns[-1]["content"] = "WE PROCEED now to the judiciary. [1] It proves that the judiciary is the weakest… [2]"
    assert last_answer(turns) == turns[-1]["content"]
    assert quoted(last_answer(turns)) == ["WE PROCEED now to the judiciary.",
                                          "It proves that the judiciary is the weakest…"]
    # No answer to go by: the conversation ends with a question, is empty, or the answer quotes nothing.
    assert last_answer(turns[:1]) == "" and last_answer(None) == ""
    assert quoted("The documents do not seem to cover this.") == []
