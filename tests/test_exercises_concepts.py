"""The checkers of Part 4.2's exercises pass right solutions, catch the usual mistakes with their hint, and say
"not attempted" for a stub."""
import numpy as np
import torch

from mmcourse.data import COLOURS, SHAPES
from mmcourse.exercises import check_attention_hop, check_hit_rate, check_parsed_table, check_relate
from mmcourse.reasoning import relation_holds


def attention_hop(v, u, W_v, W_u, b, w_p):
    h = torch.tanh(v @ W_v.T + W_u @ u + b)
    p = torch.softmax(h @ w_p, dim=0)
    return u + p @ v, p


def hit_rate(maps, named):
    top = np.asarray(maps).argmax(1)
    scored = [i for i, cells in enumerate(named) if cells]
    return float(np.mean([top[i] in named[i] for i in scored]))


def parsed_table(occupied, colour, shape):
    return [{"colour": COLOURS[colour[k].argmax()], "shape": SHAPES[shape[k].argmax()], "cell": k}
            for k in range(9) if 1 / (1 + np.exp(-occupied[k])) > 0.5]


def relate(cells, anchors, relation):
    return [j for j in range(len(cells)) if any(relation_holds(relation, cells[j], cells[i]) for i in anchors)]


def relate_by_hand(cells, anchors, relation):
    def holds(c, a):
        (r, k), (ra, ka) = divmod(c, 3), divmod(a, 3)
        return {"left": k < ka, "right": k > ka, "above": r < ra, "below": r > ra,
                "same_row": r == ra and c != a}[relation]
    return [j for j, c in enumerate(cells) if any(holds(c, cells[i]) for i in anchors)]


def stub(*args):
    raise NotImplementedError


def fails_with(result, hint):
    return not result.passed and hint in result.message


def test_right_solutions_pass():
    assert check_attention_hop(attention_hop).passed
    assert check_hit_rate(hit_rate).passed
    assert check_parsed_table(parsed_table).passed
    assert check_relate(relate).passed and check_relate(relate_by_hand).passed
    assert repr(check_relate(relate)).startswith("PASS")


def test_stubs_are_not_attempted():
    for check in (check_attention_hop, check_hit_rate, check_parsed_table, check_relate):
        assert fails_with(check(stub), "not attempted")


def test_attention_hop_mistakes_get_hints():
    def no_residual(v, u, W_v, W_u, b, w_p):
        return attention_hop(v, u, W_v, W_u, b, w_p)[1] @ v, attention_hop(v, u, W_v, W_u, b, w_p)[1]

    def no_tanh(v, u, W_v, W_u, b, w_p):
        p = torch.softmax((v @ W_v.T + W_u @ u + b) @ w_p, 0)
        return u + p @ v, p

    def sigmoid(v, u, W_v, W_u, b, w_p):
        p = torch.sigmoid(torch.tanh(v @ W_v.T + W_u @ u + b) @ w_p)
        return u + p @ v, p

    def mean_pool(v, u, W_v, W_u, b, w_p):
        return u + v.mean(0), attention_hop(v, u, W_v, W_u, b, w_p)[1]

    assert fails_with(check_attention_hop(no_residual), "keep the residual")
    assert fails_with(check_attention_hop(no_tanh), "through tanh")
    assert fails_with(check_attention_hop(sigmoid), "not a sigmoid")
    assert fails_with(check_attention_hop(mean_pool), "plain mean")
    assert fails_with(check_attention_hop(lambda *a: a[1]), "return a pair")


def test_hit_rate_mistakes_get_hints():
    def unscored(maps, named):
        top = np.asarray(maps).argmax(1)
        return float(np.mean([top[i] in named[i] for i in range(len(named))]))

    def argmin(maps, named):
        return hit_rate(-np.asarray(maps), named)

    def count(maps, named):
        top = np.asarray(maps).argmax(1)
        return sum(top[i] in cells for i, cells in enumerate(named))

    assert fails_with(check_hit_rate(unscored), "skip the questions")
    assert fails_with(check_hit_rate(argmin), "not the argmin")
    assert fails_with(check_hit_rate(count), "share of hits")
    assert fails_with(check_hit_rate(lambda m, n: "high"), "return a number")


def test_parsed_table_mistakes_get_hints():
    def every_cell(occupied, colour, shape):
        return parsed_table(np.full(9, 5.0), colour, shape)

    def below(occupied, colour, shape):
        return parsed_table(-occupied, colour, shape)

    def argmin(occupied, colour, shape):
        return parsed_table(occupied, -colour, -shape)

    def from_one(occupied, colour, shape):
        return [{**o, "cell": o["cell"] + 1} for o in parsed_table(occupied, colour, shape)]

    assert fails_with(check_parsed_table(every_cell), "an empty cell gives no object")
    assert fails_with(check_parsed_table(below), "ABOVE 0.5")
    assert fails_with(check_parsed_table(argmin), "not the argmin")
    assert fails_with(check_parsed_table(from_one), "numbered 0 to 8")
    assert fails_with(check_parsed_table(lambda *a: [1, 2]), "list of dicts")


def test_relate_mistakes_get_hints():
    flip = {"left": "right", "right": "left", "above": "below", "below": "above", "same_row": "same_row"}

    def swapped(cells, anchors, relation):
        return relate(cells, anchors, flip[relation])

    def with_self(cells, anchors, relation):
        out = set(relate(cells, anchors, relation))
        return sorted(out | set(anchors)) if relation == "same_row" else sorted(out)

    def all_anchors(cells, anchors, relation):
        return [j for j in range(len(cells)) if all(relation_holds(relation, cells[j], cells[i]) for i in anchors)]

    def cell_number(cells, anchors, relation):
        if relation in ("left", "right"):
            sign = 1 if relation == "left" else -1
            return [j for j in range(len(cells)) if any(sign * (cells[i] - cells[j]) > 0 for i in anchors)]
        return relate(cells, anchors, relation)

    assert fails_with(check_relate(swapped), "smaller column")
    assert fails_with(check_relate(with_self), "never in the same row as itself")
    assert fails_with(check_relate(all_anchors), "ANY anchor")
    assert fails_with(check_relate(cell_number), "not the cell number")
    assert fails_with(check_relate(lambda c, a, r: None), "return a list")
