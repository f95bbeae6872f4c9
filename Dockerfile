# Image for the team/server setup (docker-compose.yml): Airflow 3.3 with arrears installed from this checkout.
FROM apache/airflow:3.3.2-python3.11
USER root
COPY --chown=airflow:root . /opt/arrears
USER airflow
RUN pip install --no-cache-dir -c /opt/arrears/constraints.txt -e /opt/arrears
