# One image for every process: web (uvicorn), worker, beat and Flower differ only by command.
# Build:  docker build -t portfolio-realtime .
# The default command is the web process; docker-compose.yml overrides it for the others.
FROM python:3.11-slim

# PYTHONPATH=/app: `pip install .` also puts config/apps/workers into site-packages, but the
# settings compute BASE_DIR from their own location (templates/, static/, staticfiles/), so
# the copy in /app must be the one imported, whatever the command and working directory.
# FORWARDED_ALLOW_IPS is read by uvicorn (--forwarded-allow-ips): the addresses whose
# X-Forwarded-For/-Proto it believes. Set it to the proxy's address (deploy/nginx/portfolio.conf;
# docker-compose.yml sets its network's gateway); never "*", which lets any client that reaches
# the port pick its own address. The default believes no one outside the container.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    FORWARDED_ALLOW_IPS="127.0.0.1"

WORKDIR /app

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app app

COPY . .

# Runtime dependencies only (no dev extras); every dependency ships wheels for slim.
RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info

# Production settings refuse to load without SECRET_KEY and ALLOWED_HOSTS: give throwaway
# values to this one command only (nothing here reads them at run time, nor stays in the image).
RUN SECRET_KEY=collectstatic-at-build-time-only ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput

# The code and static files stay owned by root: the app user only reads them.
USER app

EXPOSE 8000

# No curl in slim images: ask with Python. /realtime/health/?check=web answers 200 while this
# process reaches Redis and the database (503 otherwise), with no login. The Host header is the first ALLOWED_HOSTS entry,
# so Django does not turn the probe away with 400 when 127.0.0.1 is not an allowed host.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; h = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')[0].strip().lstrip('.'); h = 'localhost' if h in ('', '*') else h; r.urlopen(r.Request('http://127.0.0.1:8000/realtime/health/?check=web', headers={'Host': h}), timeout=8)"]

# The guide's command, then the flags of the Procfile's web line, plus proxy headers (nginx).
CMD ["uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--ws", "websockets-sansio", "--ws-per-message-deflate", "false", "--ws-max-size", "65536", "--ws-ping-interval", "20", "--ws-ping-timeout", "20", "--lifespan", "off", "--no-server-header", "--proxy-headers"]
