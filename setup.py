from pathlib import Path

from setuptools import find_packages, setup


def read_requirements():
    lines = Path(__file__).with_name("requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


setup(
    name="ssl_gen",
    version="0.1.0",
    description="Semi-supervised learning of a conditional generator P(x|y) and a classifier P(y|x).",
    long_description=Path(__file__).with_name("README.md").read_text(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["ssl_gen", "ssl_gen.*"]),
    python_requires=">=3.10",
    install_requires=read_requirements(),
    extras_require={"dev": ["pytest>=8", "pytest-xdist>=3", "nbmake>=1.5", "ipykernel>=6"]},
)
