"""rnnlab.viz.diagram: a look sets a box's and an arrow's options, an option given overrides it,
``dashed`` draws a dashed line, an unknown look is refused."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from rnnlab.viz import diagram  # noqa: E402


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


@pytest.mark.parametrize("look", sorted(diagram.LOOKS))
def test_a_look_sets_the_box_and_arrow_options(ax, look):
    opts = diagram.LOOKS[look]
    patch = diagram.box(ax, 1.0, 2.0, "h", look=look)
    assert patch.get_width() == pytest.approx(opts.box["w"])
    assert patch.get_height() == pytest.approx(opts.box["h"])
    assert patch.get_linewidth() == pytest.approx(opts.box["lw"])
    assert patch.zorder == opts.box["zorder"]
    text = ax.texts[-1]
    assert text.get_text() == "h" and text.get_fontsize() == opts.box["fontsize"]
    arrow = diagram.arrow(ax, (0, 0), (1, 1), "W", look=look)
    assert arrow.get_linewidth() == pytest.approx(opts.arrow["lw"])
    assert arrow.get_edgecolor() == to_rgba(opts.arrow["color"])
    assert ax.texts[-1].zorder == opts.arrow["zorder"] + 3


def test_options_given_override_the_look_and_dashed_draws_dashes(ax):
    patch = diagram.box(ax, 0, 0, look="node", w=2.0, edgecolor="red", dashed=True)
    assert patch.get_width() == 2.0 and patch.get_edgecolor() == to_rgba("red")
    assert patch.get_linestyle() == "--"
    assert diagram.box(ax, 0, 0, look="node").get_linestyle() == "-"
    assert diagram.arrow(ax, (0, 0), (1, 0), look="page", dashed=True).get_linestyle() == "--"


def test_an_unknown_look_is_refused(ax):
    with pytest.raises(ValueError, match="look must be one of"):
        diagram.box(ax, 0, 0, look="fancy")
    with pytest.raises(ValueError, match="look must be one of"):
        diagram.arrow(ax, (0, 0), (1, 0), look="fancy")
