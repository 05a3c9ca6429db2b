"""Settings of the soak's service processes: the production settings (every check they make, every default),
with only the waits that decide how soon a fault is recovered scaled down about tenfold, so that a one-minute
soak sees each of its faults recovered within its bounded drain. Production's values are in the comments."""

from middleware.settings.production import *  # noqa: F403

ORDERGROOVE_RETRY_DELAYS = (5, 15, 60)  # 60, 240, 86400
ORDERGROOVE_STATUS_POLL_DELAYS = (3, 10, 30, 60)  # 60, 300, 900, 3600, 6 h, 24 h
ORDERGROOVE_DELIVERY_LEASE_SECONDS = 20  # 60
ORDERGROOVE_STALE_PENDING_SECONDS = 20  # 60
INBOX_STALE_AFTER_SECONDS = 20  # 60
ORDERGROOVE_PLACEMENT_LEASE_SECONDS = 30  # 300
FEED_RUN_HEARTBEAT_TIMEOUT_SECONDS = 30  # 600
FEED_RUN_REQUEUE_SECONDS = 20  # 120
# The inbox's lease on an event is the task time limit + 30 s: 70 s here (210 s in production).
CELERY_TASK_SOFT_TIME_LIMIT = 30  # 120
CELERY_TASK_TIME_LIMIT = 40  # 180
