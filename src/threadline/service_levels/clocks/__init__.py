"""SLA clocks kept in step with conversations, inside the transaction of each change.

Event handlers start, pause, resume and stop clocks:
- an inbound message from the customer (not an automated one) starts a first-response clock
  (or a next-response clock after the first) unless one is running, and a resolution clock;
- an agent's reply stops the response clocks, recording met or missed;
- pending / snoozed pause every clock (the matter waits on the customer), open resumes
  them with the deadline pushed out by the working time spent waiting, resolved stops them.
Each running clock has two durable timers (core/timers.py): "sla.warning" at the
policy's warning ratio of the target and "sla.breach" at the deadline. Their handlers mark
the clock once (warned_at / breached_at), emit sla.warning / sla.breached and run the
policy's escalation actions.

From lowest to highest:

- business_calendars.py  a stored business calendar as the domain's BusinessCalendar
- rows.py                a clock's state read from and written to its row; the open clocks
- timers.py              the warning and breach timers: their kinds, keys, arming, disarming
- views.py               how a clock looks to clients
- starting.py            the policy that applies, and the clocks a customer's message starts
- stopping.py            stopping a clock with its measurement
- status.py              pause, resume or stop on a change of the conversation's status
- escalation.py          the timers' handlers: warning and breach, and their actions
- handlers.py            what the clocks do on events and timers (EVENT_HANDLERS, TIMER_HANDLERS)
"""
