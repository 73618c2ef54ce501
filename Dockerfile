# The store console's image: one image, every process of store_console/processes.py (compose.yaml picks the
# command of each). Linted by hadolint in the suite (tests/architecture/test_deploy_files.py).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CONSOLE_VAR_DIR=/var/lib/store-console \
    PROMETHEUS_MULTIPROC_DIR=/run/store-console-metrics \
    DAPHNE_BIND=0.0.0.0

# The processes run as "console" (uid and gid 10001), as under systemd; the code stays root's.
RUN groupadd --system --gid 10001 console \
    && useradd --system --uid 10001 --gid console --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin console \
    && install -d -o console -g console -m 750 /var/lib/store-console /run/store-console-metrics

WORKDIR /srv/store-console
# An editable install from the source tree, as docs/running.md installs it: templates/ and static/ live here.
COPY . .
RUN pip install --no-cache-dir -e . \
    && python -m store_console.translations

USER 10001:10001
EXPOSE 8000
CMD ["python", "-m", "daphne", "-b", "0.0.0.0", "-p", "8000", "store_console.asgi:application"]
