"""Routing: who handles a waiting conversation, and why.

In auto mode a conversation the customer writes in on is given to the best eligible agent with
room (or offered to them, in offer mode); an agent who comes online or frees room is filled
from the queue; a conversation nobody takes relaxes its needs or overflows to another team
step by step. In manual mode supervisors assign by hand, and routing keeps the history of who
had what and why. The rules themselves (scoring, capacity, queue order, steps) are pure and
live in domain/routing/; this package reads and writes them in the database.

Code outside the package imports from here. Inside, from lowest to highest:

- settings.py     mode, scoring weights, routing steps, team routing (read; admins write)
- work.py         what a conversation needs (channel, skills, competence, language)
- candidates.py   who could take it: online agents and the domain's view of each
- load.py         the lock order; agents' open work and room, checked and taken in one step;
                  open assignments per agent (the queue page)
- events.py       how assignments and offers look to clients, and routing's events
- claims.py       claiming and releasing a conversation; the "why this agent" history
- offers.py       making an offer (it reserves room, arms its timer) and ending one
- steps.py        a waiting conversation's routing progress and its step timer
- queue.py        queue order, a conversation's place in it and the estimated wait
- route.py        routing one conversation (route, route_conversation, route_now)
- offer_outcomes.py  an offer accepted, declined, or running out when its timer fires
- fill_plan.py    which of a fill pass's agents takes which waiting conversation
- fill_pass.py    one fill pass: lock the agents, hand out the plan, write it
- fill.py         fill requests, and passes coalesced per workspace after commit
- reconcile.py    the history brought in line when a conversation changed otherwise
- transfer.py     handing a conversation to another agent or team, with a note
- decisions.py    the workspace's latest assignments and offers with why (console page)
- handlers.py     what routing does on events and timers (EVENT_HANDLERS, TIMER_HANDLERS)
"""

from threadline.routing import handlers
from threadline.routing.assignments.claims import list_assignments
from threadline.routing.assignments.load import open_assignment_counts
from threadline.routing.assignments.transfer import transfer
from threadline.routing.candidates import online_agents
from threadline.routing.decisions import recent_decisions
from threadline.routing.events import assignment_view
from threadline.routing.filling.fill import fill_left_over
from threadline.routing.offers.offer_outcomes import accept_offer, decline_offer, list_my_offers
from threadline.routing.queue import queue_policy_view, queue_position, queue_positions
from threadline.routing.route import route, route_conversation, route_now
from threadline.routing.settings import (
    get_settings,
    get_team_routing,
    list_team_routing,
    put_settings,
    put_team_routing,
)

__all__ = [
    "accept_offer",
    "assignment_view",
    "decline_offer",
    "fill_left_over",
    "get_settings",
    "get_team_routing",
    "handlers",
    "list_assignments",
    "list_my_offers",
    "list_team_routing",
    "online_agents",
    "open_assignment_counts",
    "put_settings",
    "put_team_routing",
    "queue_policy_view",
    "queue_position",
    "queue_positions",
    "recent_decisions",
    "route",
    "route_conversation",
    "route_now",
    "transfer",
]
