"""Interactive explorers: each has a live ipywidgets face (Jupyter, Colab) and a static plotly face (the website)."""
from mmcourse.widgets import (coordination_explorer, generation_explorer, pid_explorer, reasoning_explorer,
                              transference_explorer)
from mmcourse.widgets.alignment_explorer import ALIGNMENT_METHODS, AlignmentExplorer
from mmcourse.widgets.coordination_explorer import *  # noqa: F401,F403
from mmcourse.widgets.fusion_explorer import EXPLORER_DATASETS, FusionExplorer, Run
from mmcourse.widgets.pid_explorer import *  # noqa: F401,F403
from mmcourse.widgets.reasoning_explorer import *  # noqa: F401,F403
from mmcourse.widgets.generation_explorer import *  # noqa: F401,F403
from mmcourse.widgets.transference_explorer import *  # noqa: F401,F403

__all__ = ["FusionExplorer", "Run", "EXPLORER_DATASETS", "AlignmentExplorer", "ALIGNMENT_METHODS",
           *coordination_explorer.__all__, *pid_explorer.__all__, *reasoning_explorer.__all__,
           *generation_explorer.__all__, *transference_explorer.__all__]
