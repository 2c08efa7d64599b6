"""Part 1 of the book, Foundations: the measurements its chapters make on the toy worlds (responses of the
interaction taxonomy, information, heterogeneity, connections, interactions in context)."""
from mmcourse.foundations import connections, context, heterogeneity, responses, text
from mmcourse.foundations.connections import *  # noqa: F401,F403
from mmcourse.foundations.context import *  # noqa: F401,F403
from mmcourse.foundations.heterogeneity import *  # noqa: F401,F403
from mmcourse.foundations.responses import *  # noqa: F401,F403
from mmcourse.foundations.text import *  # noqa: F401,F403

__all__ = [*responses.__all__, *heterogeneity.__all__, *connections.__all__, *context.__all__, *text.__all__]
