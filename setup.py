"""What setup.cfg cannot say: the repository's top-level configs/ ships inside the wheel as jaxgen/configs/."""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["jaxgen", "jaxgen.*"]) + ["jaxgen.configs"],
      package_dir={"jaxgen.configs": "configs"})
