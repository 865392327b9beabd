"""The WSGI entry point (gunicorn wsgi:app). The only module that builds an app at import."""
from mobsrc import create_app
from mobsrc.core.collector import tune_for_batches

app = create_app()
tune_for_batches()
