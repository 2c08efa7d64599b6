"""Interactive explorers: each has a live ipywidgets face (Jupyter, Colab) and a static plotly face (the website)."""
from mmcourse.widgets.alignment_explorer import ALIGNMENT_METHODS, AlignmentExplorer
from mmcourse.widgets.fusion_explorer import EXPLORER_DATASETS, FusionExplorer, Run

__all__ = ["FusionExplorer", "Run", "EXPLORER_DATASETS", "AlignmentExplorer", "ALIGNMENT_METHODS"]
