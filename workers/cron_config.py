"""For ``rq cron workers.cron_config``: the same SCHEDULE, through RQ's module-level register."""
from rq import cron

from workers.schedule import SCHEDULE, use_utc

use_utc()  # RQ's cron matches local time; SCHEDULE is in UTC
for _item in SCHEDULE:
    cron.register(_item.func, _item.queue, kwargs=_item.kwargs, interval=_item.interval, cron=_item.cron,
                  job_timeout=_item.timeout, name=_item.name)
