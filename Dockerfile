# The app image for docker-compose.yml (docs/deploy.md). Not built on the development machine (no registry).
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
# torch from PyPI's CPU index: the default index would pull a multi-GB CUDA build
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt
COPY . .
EXPOSE 7860
CMD ["python", "app.py", "--host", "0.0.0.0", "--port", "7860"]
