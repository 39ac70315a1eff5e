"""Follow-ups: tasks with a due time (follow-ups after wrap-up, callbacks after a missed
call) and what happens when one falls due.

Code outside the package imports from here. Inside:

- tasks.py   creating, listing and updating tasks
- due.py     a task falling due brings its conversation back
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.follow_ups.tasks import (
        NewTask,
        TaskFilter,
        create_task,
        list_tasks,
        update_task,
    )
else:
    from threadline.core.faces import lazy_face

    __getattr__ = lazy_face(__name__, ["tasks"])

__all__ = ["NewTask", "TaskFilter", "create_task", "list_tasks", "update_task"]
