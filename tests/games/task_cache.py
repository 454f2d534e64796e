"""One compiled task per experiment in the test modules that import `one_task_per_config` (an autouse fixture).

Runs whose configs differ only in `num_steps` or `seed` share the task (`gan.create_task`'s pure functions read
neither; the loop does), so a stopped run, its resumption, the run alone beside its sweep and the research
tools' restore reuse the programs compiled once (XLA:CPU takes seconds per program on this machine). Tasks
built inside a sweep's traced program (no mesh) are not shared.
"""

import json

import pytest

from jaxgen import config as config_lib
from jaxgen.trainers import gan


@pytest.fixture(scope="module", autouse=True)
def one_task_per_config():
    create, tasks = gan.create_task, {}

    def shared(config, info, mesh):
        if mesh is None:
            return create(config, info, mesh)
        tree = json.loads(config_lib.to_json(config))
        tree.pop("num_steps"), tree.pop("seed")
        key = (json.dumps(tree, sort_keys=True), json.dumps(info, sort_keys=True, default=list),
               tuple(d.id for d in mesh.devices.flat))
        if key not in tasks:
            tasks[key] = create(config, info, mesh)
        return tasks[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gan, "create_task", shared)
        yield
