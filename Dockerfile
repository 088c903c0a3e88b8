# Nichiro's Airflow image: the official Airflow image, extended with this project's runtime
# packages (pinned by requirements.lock) and its code. Built by `docker compose build` (see
# docker-compose.yml and docs/docker.md).
FROM apache/airflow:3.3.2-python3.11

# Must equal the Airflow version in the FROM line and in requirements.lock (checked below).
ARG AIRFLOW_PIN=3.3.2
# The runtime dependencies of pyproject.toml's [project].dependencies, apart from Airflow itself.
# Keep this list in sync with pyproject.toml; every name must be pinned in requirements.lock.
ARG NICHIRO_PACKAGES="apache-airflow-providers-postgres apache-airflow-providers-standard feedparser beautifulsoup4 lxml psycopg2-binary httpx trafilatura charset-normalizer datasketch tqdm"

# The official image installs Python packages as the `airflow` user (pip refuses to run as root).
USER airflow

# How the pins get into the image:
# - requirements.lock (uv pip compile of pyproject.toml with apache-airflow==3.3.2) is the version
#   set the tests run against. Installing it whole would also bring the dev tools (pytest, ruff,
#   mypy), so instead the packages above are installed at their locked versions, and the whole
#   lock is passed as a constraints file (-c): every transitive dependency pip touches (sgmllib3k,
#   soupsieve, htmldate, justext, dateparser, ...) gets the locked version too, without listing it
#   here, while the image's other preinstalled packages are left alone.
# - "apache-airflow==3.3.2" is named explicitly, as Airflow's image docs recommend, so resolving
#   the extra packages can never up- or downgrade the Airflow the image ships.
# - A package missing from the lock fails the build instead of silently going unpinned.
# - The import check at the end fails the build if an optional extra went missing (justext needs
#   lxml[html_clean]; pip 23.2 (seen here) does not match that extra name and skips lxml-html-clean).
COPY requirements.lock /opt/nichiro/requirements.lock
RUN set -eu; \
    lock=/opt/nichiro/requirements.lock; \
    grep -qx "apache-airflow==${AIRFLOW_PIN}" "${lock}" \
        || { echo "requirements.lock does not pin apache-airflow==${AIRFLOW_PIN}" >&2; exit 1; }; \
    : > /tmp/requirements-image.txt; \
    for pkg in ${NICHIRO_PACKAGES}; do \
        grep -x "${pkg}==[^ ]*" "${lock}" >> /tmp/requirements-image.txt \
            || { echo "${pkg} is not pinned in requirements.lock" >&2; exit 1; }; \
    done; \
    cat /tmp/requirements-image.txt; \
    pip install --no-cache-dir "apache-airflow==${AIRFLOW_PIN}" \
        -r /tmp/requirements-image.txt -c "${lock}"; \
    rm -f /tmp/requirements-image.txt; \
    python -c "import trafilatura, justext, lxml.html.clean, feedparser, bs4, httpx, \
charset_normalizer, psycopg2, airflow.providers.postgres.hooks.postgres, airflow.providers.standard"

# The project's code and data. docker-compose.yml bind-mounts the working tree over these for
# development; the copies make the image usable on its own.
COPY scrapers /opt/nichiro/scrapers
COPY sql /opt/nichiro/sql
COPY sources.toml /opt/nichiro/sources.toml

# The simple auth manager's password file, on a volume shared by every Airflow service (the
# volume takes this directory's owner on creation; group 0 may write, for any AIRFLOW_UID).
RUN mkdir -p /opt/airflow/auth && chmod 0770 /opt/airflow/auth

ENV PYTHONPATH=/opt/nichiro \
    NICHIRO_SOURCES=/opt/nichiro/sources.toml
