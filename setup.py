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
        # Run monitoring asks whether a run's process still lives (defs/platform/run_launcher.py).
        "psutil>=5.9",
    ],
    extras_require={
        "dev": [
            "pytest>=8",
            "pytest-xdist>=3.5",
            "ruff>=0.6",
            "selenium>=4.20",
            "dagster-dg-cli==1.13.27",
        ],
    },
    entry_points={
        "console_scripts": [
            "sentiment-predict=sentiment_assets.cli.predict:main",
            "sentiment-platform=sentiment_assets.cli.platform:main",
            "sentiment-run=sentiment_assets.cli.run:main",
            "sentiment-sample-drops=sentiment_assets.cli.sample_drops:main",
        ]
    },
)
