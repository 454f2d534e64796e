"""jaxgen.optional: a missing optional package is a one-line error naming the extra that installs it."""

import configparser
import os
import re
import sys

import pytest

from jaxgen import cli, optional
from jaxgen.errors import JaxgenError

SETUP_CFG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "setup.cfg")


def test_missing_package_names_its_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(JaxgenError, match=re.escape("sweep.png needs matplotlib, which is not installed: "
                                                    "pip install 'jaxgen[plots]'")):
        optional.pyplot("sweep.png")
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(JaxgenError, match=re.escape("needs scikit-learn, which is not installed: pip install "
                                                    "'jaxgen[data]' (from a clone: pip install -e '.[data]')")):
        optional.require("sklearn.datasets", "the bundled dataset digits")


def test_present_package_is_imported():
    assert optional.require("matplotlib", "plots").__name__ == "matplotlib"
    assert optional.pyplot("plots").get_backend().lower() == "agg"


def test_packages_are_in_their_extras_not_in_the_install():
    setup = configparser.ConfigParser()
    setup.read(SETUP_CFG)
    names = lambda text: {re.split(r"[<>=\[ ]", line.strip())[0] for line in text.split("\n") if line.strip()}
    required = names(setup["options"]["install_requires"])
    extras = {extra: names(text) for extra, text in setup["options.extras_require"].items()}
    for distribution, extra in optional.PACKAGES.values():
        assert distribution in extras[extra] and distribution not in required, distribution
    assert {"data", "plots", "features"} <= {e.strip() for e in re.search(r"jaxgen\[(.*)\]", setup["options.extras_require"]
                                                              ["test"]).group(1).split(",")}


def test_cli_refuses_a_sweep_without_matplotlib_before_training(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    argv = ["sweep", "--config", "gan_mnist:tiny", "--workdir", str(tmp_path / "w"), "--over", "seed=0:2"]
    assert cli.main(argv) == cli.EXIT_USAGE
    assert "jaxgen: error: sweep.png needs matplotlib" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()
