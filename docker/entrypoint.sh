#!/bin/sh
# One image, three roles. Production settings refuse to start with development defaults.
set -e
case "$1" in
  web)
    python manage.py migrate --noinput
    exec gunicorn middleware.wsgi:application --bind 0.0.0.0:8000 \
      --workers "${WEB_CONCURRENCY:-4}" --threads "${WEB_THREADS:-4}" --timeout 30 \
      --worker-class middleware.plumbing.admission.ThreadWorker \
      --access-logfile - --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}"
    ;;
  worker)
    # Without gossip, mingle and heartbeat (nothing uses them): their channels are what kombu failed to close after
    # a Redis restart, killing the worker (tests/middleware/plumbing/test_broker_restart.py). Remote control (inspect ping,
    # the healthcheck) stays.
    exec celery -A middleware worker --loglevel "${LOG_LEVEL:-INFO}" --concurrency "${WORKER_CONCURRENCY:-4}" \
      --hostname "worker@%h" --without-gossip --without-mingle --without-heartbeat
    ;;
  beat)
    exec celery -A middleware beat --loglevel "${LOG_LEVEL:-INFO}" --schedule /app/var/celerybeat-schedule
    ;;
  *)
    exec "$@"
    ;;
esac
