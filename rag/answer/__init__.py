"""The answer stage in three parts, each its own module:

* ``question.py`` -- question analysis (normalise; slot, subject, time frame, weighted terms);
* ``evidence.py`` -- evidence verification (which clauses are about the subject, in the time frame, and supply
  the slot: ``slots.py``) and ``decide.py`` -- the calibrated answer/refuse decision over its signals;
* ``compose.py`` -- composition of the cited answer or the refusal notice.
``answerer.py`` orchestrates them; ``rules.py`` holds the phrasings as data.
"""
from .answerer import Answerer
from .compose import NOT_FOUND
from .followup import rewrite_followup
from .question import Question, QuestionAnalyzer
from .rules import Slot

__all__ = ["Answerer", "NOT_FOUND", "Question", "QuestionAnalyzer", "Slot", "rewrite_followup"]
