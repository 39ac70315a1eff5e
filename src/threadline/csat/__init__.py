"""Customer satisfaction: the survey sent when a conversation is resolved, and its answers.

Code outside the package imports from here. Inside:

- survey.py    the workspace's survey settings, and sending the survey after a resolve
- answers.py   answers by digit reply or by the survey link; the scores list
- history.py   a customer's answered surveys, for the card
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.csat.answers import answer_by_token, list_scores, survey_by_token
    from threadline.csat.history import answered_surveys
    from threadline.csat.survey import csat_config, csat_config_view, update_csat_config
else:
    from threadline.core.faces import lazy_face

    __getattr__ = lazy_face(__name__, ["answers", "history", "survey"])

__all__ = [
    "answer_by_token",
    "answered_surveys",
    "csat_config",
    "csat_config_view",
    "list_scores",
    "survey_by_token",
    "update_csat_config",
]
