# syntax=docker/dockerfile:1
# Build: docker build -t leadwire .   Run: docker run -p 8000:8000 -v leadwire:/var/lib/leadwire leadwire
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/leadwire
# The whole build context: .dockerignore keeps out what is not the application (tests, docs, the virtualenv, local
# databases), so a new slice is in the image without a list here to forget it in (tests/e2e/test_docker_image.py).
COPY . .
RUN /opt/leadwire/bin/pip install --no-cache-dir --disable-pip-version-check .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/leadwire leadwire
COPY --from=build /opt/leadwire /opt/leadwire
ENV PATH=/opt/leadwire/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LEADWIRE_DATABASE_URL=sqlite+aiosqlite:////var/lib/leadwire/leadwire.db
USER leadwire
WORKDIR /var/lib/leadwire
VOLUME ["/var/lib/leadwire"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["leadwire", "serve", "--host", "0.0.0.0", "--port", "8000"]
