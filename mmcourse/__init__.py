"""mmcourse: the companion package of the multimodal machine learning book.

One subpackage per challenge of the book (``representation``, ...), plus the shared pieces: ``data`` (the toy
worlds), ``encoders``, ``training`` (fit / evaluate), ``viz`` (plotly figures), ``widgets`` and ``exercises``.
"""
from mmcourse import viz  # noqa: F401  (during a book build, this selects the website's plotly renderer)
from mmcourse.utils import get_device, set_progress, set_seed

__version__ = "0.1.0"
__all__ = ["get_device", "set_seed", "set_progress", "__version__"]
